package sagemakerapi_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/internal/pyclient"
	"github.com/provgraph/provgraph/store"
)

var pythonBlock = regexp.MustCompile("(?s)```python\n(.*?)```")

// The Python example of docs/ingest-sagemaker.md's "Point the SageMaker SDK here" runs as
// written against the service, with the 2.x SDK and, with the imports the section names,
// with 3.x; under this test's experiment name and buckets.
func TestDocumentedSDKExample(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "ingest-sagemaker.md"))
	require.NoError(t, err)
	_, section, found := strings.Cut(string(doc), "## Point the SageMaker SDK here")
	require.True(t, found)
	section, _, _ = strings.Cut(section, "\n## ")
	m := pythonBlock.FindStringSubmatch(section)
	require.NotNil(t, m, "the section has a python example")
	for _, generation := range []int{2, 3} {
		t.Run(strconv.Itoa(generation)+".x", func(t *testing.T) {
			t.Parallel()
			python := pyclient.SageMakerPython(t, generation)
			url, st, key, tk := sdkServer(t)
			script := strings.NewReplacer(`experiment_name="churn"`, `experiment_name="churn-`+tk+`"`,
				`s3://churn-`, `s3://churn-`+tk+`-`).Replace(m[1])
			if generation == 3 {
				script = strings.NewReplacer(
					"from sagemaker.analytics import", "from sagemaker.core.analytics import",
					"from sagemaker.experiments.run import", "from sagemaker.core.experiments.run import",
					"from sagemaker.session import", "from sagemaker.core.helper.session_helper import").Replace(script)
			}
			path := filepath.Join(t.TempDir(), "example.py")
			require.NoError(t, os.WriteFile(path, []byte(script), 0o600))
			out := pyclient.RunWith(t, python, 3*time.Minute, sdkEnv(url, key, tk), path)
			assert.Contains(t, out, "churn-"+tk+"-xgb-1", "the table names the run")

			e, err := st.ExperimentByName(t.Context(), "name", "churn-"+tk)
			require.NoError(t, err)
			page, err := st.SearchRuns(t.Context(), store.RunSearch{Experiments: []string{e.Key}, Filter: "params.max_depth = '6'", First: 10})
			require.NoError(t, err)
			require.Len(t, page.Runs, 1)
			ms, err := st.RunMetrics(t.Context(), page.Runs[0].Key, nil)
			require.NoError(t, err)
			require.Len(t, ms, 2)
			assert.Equal(t, "test:auc", ms[0].Key)
			assert.Equal(t, "validation:auc", ms[1].Key)
			assert.EqualValues(t, 100, ms[1].Count)
		})
	}
}
