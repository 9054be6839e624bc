package store

import (
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readmeIDRow is a row of the README's "How IDs are made" table: | `Kind`[, `Kind`] |
// recorded with | `ID` |.
var readmeIDRow = regexp.MustCompile("(?m)^\\| (`[A-Za-z]+`(?:, `[A-Za-z]+`)*) \\| (.+) \\| `([^`]+)` \\|$")

// recordedField is a `name: "value"` or `name: 1` in the "recorded with" column.
var recordedField = regexp.MustCompile("`([a-zA-Z]+): (?:\"([^\"]*)\"|([0-9]+))`")

// The README tells a new user how an ID follows from what was recorded. Every example
// in its table is the ID the store makes (and parses as its kind), and every kind has
// one, so the section cannot drift from the rules.
func TestReadmeSaysHowIDsAreMade(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(readme), "\n## How IDs are made\n")
	require.True(t, ok, "the README has a section \"How IDs are made\"")
	section, _, _ = strings.Cut(section, "\n## ")
	rows := readmeIDRow.FindAllStringSubmatch(section, -1)
	require.NotEmpty(t, rows)

	covered := map[Kind]bool{}
	for _, row := range rows {
		kinds, with, want := strings.Split(strings.ReplaceAll(row[1], "`", ""), ", "), row[2], row[3]
		t.Run(want, func(t *testing.T) {
			fields := map[string]string{}
			for _, f := range recordedField.FindAllStringSubmatch(with, -1) {
				fields[f[1]] = f[2] + f[3]
			}
			opt := func(name string) *string {
				if v, ok := fields[name]; ok {
					return &v
				}
				return nil
			}
			dataset := DatasetVersionInput{URI: fields["uri"], Namespace: opt("namespace"), Name: opt("name"),
				Digest: opt("digest"), VersionID: opt("versionId")}
			var got string
			switch kinds[0] {
			case string(KindDatasetVersion):
				ns, name, err := datasetIdentity(dataset)
				require.NoError(t, err)
				version, err := pinnedVersion(dataset)
				require.NoError(t, err)
				got = DatasetVersionKey(ns, name, version)
			case string(KindDataset):
				ns, name, err := datasetIdentity(dataset)
				require.NoError(t, err)
				got = DatasetKey(ns, name)
			case string(KindTrainingJob), string(KindProcessingJob):
				got = JobKey(fields["namespace"], fields["name"])
			case string(KindArtifact):
				got = ArtifactKey(fields["uri"])
			case string(KindRegisteredModel):
				got = RegisteredModelKey(fields["model"])
			case string(KindModelVersion):
				v, err := strconv.ParseInt(fields["version"], 10, 64)
				require.NoError(t, err)
				got = ModelVersionKey(fields["model"], v)
			case string(KindEndpoint):
				got = EndpointKey(fields["endpoint"])
			case string(KindExperiment):
				got = ExperimentKey(fields["id"])
			case string(KindRunGroup):
				got = RunGroupKey(strings.TrimPrefix(fields["experiment"], prefixExperiment), fields["name"])
			case string(KindRun):
				got = RunKey(fields["runId"])
			default:
				t.Fatalf("the README's table names a kind the test does not know: %s", kinds[0])
			}
			assert.Equal(t, want, got, "recorded with %s", with)

			parsed, err := KindsOfID("id", want)
			require.NoError(t, err)
			for _, k := range kinds {
				assert.True(t, slices.Contains(parsed, Kind(k)), "%s names a %s", want, k)
				covered[Kind(k)] = true
			}
		})
	}
	for _, k := range Kinds {
		assert.True(t, covered[k], "the README's table shows how a %s's ID is made", k)
	}
}
