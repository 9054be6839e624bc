package auth_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/auth"
)

type signedCase struct {
	Method        string            `json:"method"`
	URL           string            `json:"url"`
	Body          string            `json:"body"`
	SignedHeaders map[string]string `json:"signedHeaders"`
}

// botocoreSigned reads testdata/sigv4_botocore.json: requests botocore's SigV4 signer
// signed (testdata/botocore_sign.py), with the secret and the time.
func botocoreSigned(t *testing.T) (secret string, at time.Time, cases []signedCase) {
	t.Helper()
	b, err := os.ReadFile("testdata/sigv4_botocore.json")
	require.NoError(t, err)
	var f struct {
		Secret   string       `json:"secret"`
		At       string       `json:"at"`
		Requests []signedCase `json:"requests"`
	}
	require.NoError(t, json.Unmarshal(b, &f))
	at, err = time.Parse("20060102T150405Z", f.At)
	require.NoError(t, err)
	return f.Secret, at, f.Requests
}

func (c signedCase) request() *http.Request {
	r := httptest.NewRequest(c.Method, c.URL, strings.NewReader(c.Body))
	for k, v := range c.SignedHeaders {
		r.Header.Set(k, v)
	}
	return r
}

// The verifier accepts what botocore signs, and nothing changed after signing.
func TestSigV4AgainstBotocore(t *testing.T) {
	t.Parallel()
	secret, at, cases := botocoreSigned(t)
	for _, c := range cases {
		t.Run(c.Method+" "+c.URL, func(t *testing.T) {
			verify := func(r *http.Request, body, secret string, now time.Time) error {
				sig, err := auth.ParseSigV4(r.Header.Get("Authorization"))
				require.NoError(t, err)
				assert.Equal(t, "PGAK0123456789ABCDEF", sig.AccessKeyID)
				signedAt, err := sig.CheckScope(r, "us-east-1", "sagemaker", now)
				if err != nil {
					return err
				}
				return sig.Verify(r, []byte(body), secret, signedAt)
			}
			require.NoError(t, verify(c.request(), c.Body, secret, at.Add(time.Minute)))

			assertRefused := func(code string, err error) {
				t.Helper()
				var sigErr *auth.SigV4Error
				require.ErrorAs(t, err, &sigErr)
				assert.Equal(t, code, sigErr.Code, sigErr.Message)
			}
			assertRefused(auth.CodeInvalidSignature, verify(c.request(), c.Body, "another-secret", at))
			assertRefused(auth.CodeInvalidSignature, verify(c.request(), c.Body+" ", secret, at))
			r := c.request()
			r.Method = "DELETE"
			assertRefused(auth.CodeInvalidSignature, verify(r, c.Body, secret, at))
			r = c.request()
			r.Host = "elsewhere:80"
			assertRefused(auth.CodeInvalidSignature, verify(r, c.Body, secret, at))

			// 15 minutes of skew either way, as AWS allows.
			require.NoError(t, verify(c.request(), c.Body, secret, at.Add(15*time.Minute)))
			require.NoError(t, verify(c.request(), c.Body, secret, at.Add(-15*time.Minute)))
			err := verify(c.request(), c.Body, secret, at.Add(16*time.Minute))
			assertRefused(auth.CodeInvalidSignature, err)
			assert.Contains(t, err.Error(), "Signature expired: 20260301T123000Z is now earlier than 20260301T123100Z (20260301T124600Z - 15 min.)")
			err = verify(c.request(), c.Body, secret, at.Add(-16*time.Minute))
			assert.Contains(t, err.Error(), "Signature not yet current")
		})
	}
}

func TestSigV4Scope(t *testing.T) {
	t.Parallel()
	_, at, cases := botocoreSigned(t)
	c := cases[0]
	sig, err := auth.ParseSigV4(c.SignedHeaders["Authorization"])
	require.NoError(t, err)
	for name, tc := range map[string]struct {
		region, service string
		edit            func(*http.Request)
		want, message   string
	}{
		"another region":  {region: "eu-west-1", service: "sagemaker", want: auth.CodeInvalidSignature, message: "scoped to a valid region"},
		"another service": {region: "us-east-1", service: "s3", want: auth.CodeInvalidSignature, message: "correct service"},
		"no date": {region: "us-east-1", service: "sagemaker", want: auth.CodeIncompleteSignature,
			edit: func(r *http.Request) { r.Header.Del("X-Amz-Date") }, message: "'X-Amz-Date' or a 'Date' header"},
		"another day": {region: "us-east-1", service: "sagemaker", want: auth.CodeInvalidSignature,
			edit: func(r *http.Request) { r.Header.Set("X-Amz-Date", "20260302T000000Z") }, message: "Date in Credential scope does not match"},
	} {
		t.Run(name, func(t *testing.T) {
			r := c.request()
			if tc.edit != nil {
				tc.edit(r)
			}
			_, err := sig.CheckScope(r, tc.region, tc.service, at)
			var sigErr *auth.SigV4Error
			require.ErrorAs(t, err, &sigErr)
			assert.Equal(t, tc.want, sigErr.Code)
			assert.Contains(t, sigErr.Message, tc.message)
		})
	}
}

func TestParseSigV4(t *testing.T) {
	t.Parallel()
	_, err := auth.ParseSigV4("AWS4-HMAC-SHA256 Credential=AK/20260301/us-east-1/sagemaker/aws4_request")
	var sigErr *auth.SigV4Error
	require.ErrorAs(t, err, &sigErr)
	assert.Equal(t, auth.CodeIncompleteSignature, sigErr.Code)
	assert.Equal(t, "Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter.", sigErr.Message)
	_, err = auth.ParseSigV4("AWS4-HMAC-SHA256 Credential=AK/20260301/us-east-1, SignedHeaders=host, Signature=00")
	require.ErrorAs(t, err, &sigErr)
	assert.Contains(t, sigErr.Message, "Credential must have the form")
}

func TestSealer(t *testing.T) {
	t.Parallel()
	kek, err := auth.NewKEK()
	require.NoError(t, err)
	path := t.TempDir() + "/kek"
	require.NoError(t, os.WriteFile(path, []byte(kek+"\n"), 0o600))
	key, err := auth.ReadKEK(path)
	require.NoError(t, err)
	s, err := auth.NewSealer(key)
	require.NoError(t, err)
	sealed, err := s.Seal("0123456789abcdef", "the secret")
	require.NoError(t, err)
	assert.NotContains(t, sealed, "the secret")
	got, err := s.Open("0123456789abcdef", sealed)
	require.NoError(t, err)
	assert.Equal(t, "the secret", got)
	_, err = s.Open("fedcba9876543210", sealed)
	assert.Error(t, err, "a sealed secret is bound to its key id")
	other, _ := auth.NewKEK()
	require.NoError(t, os.WriteFile(path, []byte(other), 0o600))
	key2, _ := auth.ReadKEK(path)
	s2, _ := auth.NewSealer(key2)
	_, err = s2.Open("0123456789abcdef", sealed)
	assert.Error(t, err, "another key-encryption key does not open it")
	require.NoError(t, os.WriteFile(path, []byte("short"), 0o600))
	_, err = auth.ReadKEK(path)
	assert.ErrorContains(t, err, "64 hexadecimal digits")
}

func TestAccessKeyIDs(t *testing.T) {
	t.Parallel()
	id, keyID, secret, hash, err := auth.NewAccessKey()
	require.NoError(t, err)
	assert.Len(t, keyID, 20)
	assert.True(t, strings.HasPrefix(keyID, "PGAK"))
	back, ok := auth.TokenIDOfAccessKey(keyID)
	assert.True(t, ok)
	assert.Equal(t, id, back)
	assert.True(t, auth.SecretMatches(secret, hash))
	for _, bad := range []string{"AKIAIOSFODNN7EXAMPLE", "PGAK0123", strings.ToLower(keyID)} {
		_, ok := auth.TokenIDOfAccessKey(bad)
		assert.False(t, ok, bad)
	}
}
