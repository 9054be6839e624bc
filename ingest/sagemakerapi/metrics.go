package sagemakerapi

import "net/http"

// serveMetrics answers SageMaker Metrics' BatchPutMetrics (rest-json, PUT).
func (api *API) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPut {
		w.Header().Set("Allow", http.MethodPut)
		writeError(w, r, &awsError{Code: codeUnknownOperation, Status: http.StatusMethodNotAllowed,
			Message: "method " + r.Method + " is not allowed: BatchPutMetrics is PUT to " + MetricsPath})
		return
	}
	writeError(w, r, unknownOperation("BatchPutMetrics"))
}
