package mlmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/provgraph/provgraph/apperr"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDefaultMappingFitsTFXAndKubeflow(t *testing.T) {
	m := DefaultMapping()
	cases := []struct {
		kind  int
		name  string
		base  string
		want  Role
		known bool
	}{
		{typeKindArtifact, "Examples", "", RoleDatasetVersion, true},
		{typeKindArtifact, "system.Dataset", "", RoleDatasetVersion, true},
		{typeKindArtifact, "Model", "", RoleModel, true},
		{typeKindArtifact, "system.Model", "", RoleModel, true},
		{typeKindArtifact, "PushedModel", "", RoleModelVersion, true},
		{typeKindArtifact, "ModelBlessing", "", RoleArtifact, true},
		{typeKindArtifact, "system.ClassificationMetrics", "", RoleArtifact, true},
		{typeKindArtifact, "FeatureTable", "mlmd.Dataset", RoleDatasetVersion, true},
		{typeKindArtifact, "FeatureTable", "", RoleArtifact, false},
		{typeKindExecution, "tfx.components.trainer.component.Trainer", "", RoleTrainingJob, true},
		{typeKindExecution, "Tuner", "", RoleTrainingJob, true},
		{typeKindExecution, "tfx.components.example_gen.csv_example_gen.component.CsvExampleGen", "", RoleProcessingJob, true},
		{typeKindExecution, "BigQueryExampleGen", "", RoleProcessingJob, true},
		{typeKindExecution, "system.ContainerExecution", "", RoleProcessingJob, true},
		{typeKindExecution, "my.Fit", "mlmd.Train", RoleTrainingJob, true},
		{typeKindExecution, "my.Thing", "", RoleProcessingJob, false},
		{typeKindContext, "pipeline", "", RoleExperiment, true},
		{typeKindContext, "system.PipelineRun", "", RoleRunGroup, true},
		{typeKindContext, "node", "", RoleIgnore, true},
		{typeKindContext, "team", "", RoleIgnore, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			role, known := m.role(mlmdType{name: c.name, kind: c.kind, base: c.base})
			assert.Equal(t, c.want, role)
			assert.Equal(t, c.known, known)
		})
	}
}

func TestMappingFileOverridesDefaults(t *testing.T) {
	m, err := ParseMapping([]byte(`{
		"namespace": "ml-prod",
		"unknown": "report",
		"artifacts": {"Examples": "Artifact", "*Table": "DatasetVersion", "Feature*": "ignore"},
		"executions": {"*Gen": "TrainingJob", "*ExampleGen": "ignore"},
		"contexts": {"team": "Experiment"}
	}`))
	require.NoError(t, err)
	assert.Equal(t, "ml-prod", m.Namespace)
	assert.True(t, m.ReportUnknown)
	cases := []struct {
		kind int
		name string
		want Role
	}{
		{typeKindArtifact, "Examples", RoleArtifact},        // the user's exact rule beats the default
		{typeKindArtifact, "PushedModel", RoleModelVersion}, // defaults still apply
		{typeKindArtifact, "SalesTable", RoleDatasetVersion},
		{typeKindArtifact, "FeatureTable", RoleIgnore}, // the longer pattern wins
		{typeKindArtifact, "FeatureView", RoleIgnore},
		{typeKindArtifact, "SalesView", RoleArtifact}, // no rule: the fallback
		{typeKindExecution, "tfx.components.example_gen.component.ImportExampleGen", RoleIgnore},
		{typeKindExecution, "StatisticsGen", RoleTrainingJob}, // a user pattern beats an exact default
		{typeKindContext, "team", RoleExperiment},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			role, known := m.role(mlmdType{name: c.name, kind: c.kind})
			assert.Equal(t, c.name != "SalesView", known)
			assert.Equal(t, c.want, role)
		})
	}
}

func TestMappingFileErrorsNameTheField(t *testing.T) {
	cases := []struct {
		name, file, field, says string
	}{
		{"not JSON", `{"artifacts": `, "mapping", "not a mapping file"},
		{"unknown field", `{"artefacts": {}}`, "mapping", `unknown field "artefacts"`},
		{"two values", `{} {}`, "mapping", "more than one JSON value"},
		{"role of another section", `{"artifacts": {"Examples": "TrainingJob"}}`, "artifacts.Examples", `"DatasetVersion", "Artifact", "Model", "ModelVersion", "ignore"`},
		{"unknown role", `{"executions": {"Trainer": "Training"}}`, "executions.Trainer", `(got "Training")`},
		{"context role", `{"contexts": {"pipeline": "Run"}}`, "contexts.pipeline", `"Experiment", "RunGroup", "ignore"`},
		{"star in the middle", `{"artifacts": {"Ex*les": "Artifact"}}`, "artifacts.Ex*les", "one leading or trailing '*'"},
		{"two stars", `{"artifacts": {"*Ex*": "Artifact"}}`, "artifacts.*Ex*", "one leading or trailing '*'"},
		{"star alone", `{"artifacts": {"*": "Artifact"}}`, "artifacts.*", "one leading or trailing '*'"},
		{"empty namespace", `{"namespace": ""}`, "namespace", "must not be empty"},
		{"namespace with colon", `{"namespace": "a:b"}`, "namespace", "must not contain ':'"},
		{"namespace too long", `{"namespace": "` + strings.Repeat("n", 257) + `"}`, "namespace", "at most 256 bytes"},
		{"unknown mode", `{"unknown": "fail"}`, "unknown", `must be "default" or "report"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseMapping([]byte(c.file))
			require.Error(t, err)
			e, ok := apperr.As(err)
			require.True(t, ok, "an apperr: %v", err)
			assert.Equal(t, apperr.InvalidArgument, e.Code)
			assert.Equal(t, c.field, e.Field)
			assert.Contains(t, err.Error(), c.says)
		})
	}
}

func TestLoadMappingReadsAFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "mapping.json")
	require.NoError(t, os.WriteFile(good, []byte(`{"artifacts": {"FeatureTable": "DatasetVersion"}}`), 0o600))
	m, err := LoadMapping(good)
	require.NoError(t, err)
	role, _ := m.role(mlmdType{name: "FeatureTable", kind: typeKindArtifact})
	assert.Equal(t, RoleDatasetVersion, role)
	assert.Equal(t, DefaultNamespace, m.Namespace)

	big := filepath.Join(dir, "big.json")
	require.NoError(t, os.WriteFile(big, make([]byte, MaxMappingFileSize+1), 0o600))
	_, err = LoadMapping(big)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "at most 1048576 are read")

	_, err = LoadMapping(filepath.Join(dir, "missing.json"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

// The mapping file docs/import-mlmd.md shows is a valid one and means what it says.
func TestDocumentedMappingFile(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "import-mlmd.md"))
	require.NoError(t, err)
	_, rest, found := strings.Cut(string(doc), "## The mapping file")
	require.True(t, found)
	_, rest, found = strings.Cut(rest, "```json\n")
	require.True(t, found)
	example, _, found := strings.Cut(rest, "```")
	require.True(t, found)
	m, err := ParseMapping([]byte(example))
	require.NoError(t, err)
	assert.Equal(t, "ml-prod", m.Namespace)
	assert.True(t, m.ReportUnknown)
	for _, c := range []struct {
		kind int
		name string
		want Role
	}{
		{typeKindArtifact, "FeatureTable", RoleDatasetVersion},
		{typeKindArtifact, "DriftReport", RoleArtifact},
		{typeKindArtifact, "ExampleAnomalies", RoleIgnore},
		{typeKindExecution, "DistributedTrainer", RoleTrainingJob},
		{typeKindExecution, "tfx.components.example_validator.component.ExampleValidator", RoleProcessingJob},
		{typeKindContext, "team", RoleExperiment},
		{typeKindContext, "sweep", RoleRunGroup},
	} {
		role, known := m.role(mlmdType{name: c.name, kind: c.kind})
		assert.True(t, known, c.name)
		assert.Equal(t, c.want, role, c.name)
	}
}

// FuzzParseMapping: any bytes are a mapping or an INVALID_ARGUMENT error naming a field,
// never a panic.
func FuzzParseMapping(f *testing.F) {
	f.Add([]byte(`{"namespace": "ml", "unknown": "report", "artifacts": {"*Table": "DatasetVersion"}}`))
	f.Add([]byte(`{"executions": {"Ex*les": "TrainingJob"}}`))
	f.Add([]byte(`{"contexts": {"": "Experiment"}} {}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseMapping(data)
		if err != nil {
			e, ok := apperr.As(err)
			if !ok || e.Code != apperr.InvalidArgument || e.Field == "" {
				t.Fatalf("not an INVALID_ARGUMENT error naming a field: %v", err)
			}
			return
		}
		if checkNamespace(m.Namespace) != nil {
			t.Fatalf("accepted a bad namespace %q", m.Namespace)
		}
		for _, kind := range []int{typeKindArtifact, typeKindExecution, typeKindContext} {
			m.role(mlmdType{name: "tfx.components.trainer.component.Trainer", kind: kind})
		}
	})
}
