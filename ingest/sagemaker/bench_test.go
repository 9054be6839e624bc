package sagemaker_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/provgraph/provgraph/ingest/sagemaker"
	"github.com/provgraph/provgraph/internal/neo4jtest"
)

// BenchmarkEventsSharedInputs posts processing-job reports from 4 clients at once, all
// reading the same input locations and each writing its own: the lock order on shared
// inputs decides how well they run together. It reports events/s.
func BenchmarkEventsSharedInputs(b *testing.B) {
	h := newBenchHandler(b)
	tk := neo4jtest.Token(b)
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(2) // 2 × GOMAXPROCS (2 here) = 4 clients
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			body := fmt.Sprintf(`{"ProcessingJobName":"bench-%d-%s","ProcessingJobArn":"arn:aws:sagemaker:us-east-1:1:processing-job/bench-%d-%s",
"ProcessingJobStatus":"Completed","ProcessingInputs":[
{"InputName":"a","S3Input":{"S3Uri":"s3://%s-lake/shared/a"}},{"InputName":"b","S3Input":{"S3Uri":"s3://%s-lake/shared/b"}},
{"InputName":"c","S3Input":{"S3Uri":"s3://%s-lake/shared/c"}}],
"ProcessingOutputConfig":{"Outputs":[{"OutputName":"out","S3Output":{"S3Uri":"s3://%s-lake/out/%d"}}]}}`, i, tk, i, tk, tk, tk, tk, tk, i)
			req := httptest.NewRequest(http.MethodPost, "/api/v1/sagemaker/events", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Errorf("status %d: %s", rec.Code, rec.Body.String())
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func newBenchHandler(b *testing.B) http.Handler {
	b.Helper()
	return sagemaker.NewHandler(neo4jtest.Store(b), nil)
}
