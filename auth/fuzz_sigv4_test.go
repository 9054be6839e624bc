package auth_test

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/provgraph/provgraph/auth"
)

// ParseSigV4 reads any Authorization header without panicking, and what it accepts
// checks and verifies without panicking either.
func FuzzParseSigV4(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=PGAK0123456789ABCDEF/20260301/us-east-1/sagemaker/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=00ff", "20260301T123000Z", "/aws/sagemaker")
	f.Add("AWS4-HMAC-SHA256 Credential=/////, SignedHeaders=;, Signature=", "", "/")
	f.Add("AWS4-HMAC-SHA256 ,,,==", "x", "/a%20b?c=d")
	f.Fuzz(func(t *testing.T, header, date, path string) {
		sig, err := auth.ParseSigV4(header)
		if err != nil {
			return
		}
		u, err := url.ParseRequestURI("http://127.0.0.1/" + strings.TrimPrefix(path, "/"))
		if err != nil || strings.ContainsAny(path, " \t\r\n") {
			return // not a request target a client could send
		}
		r := httptest.NewRequest("POST", u.String(), strings.NewReader("{}"))
		r.Header.Set("X-Amz-Date", date)
		at, err := sig.CheckScope(r, "us-east-1", "sagemaker", time.Now())
		if err == nil {
			_ = sig.Verify(r, []byte("{}"), "secret", at)
		}
	})
}
