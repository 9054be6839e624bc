package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// AWS Signature Version 4, as provgraph verifies it on the SageMaker API: the client
// (botocore, any AWS SDK) signs a canonical form of the request with a key derived from
// the secret of its access key, and the server, which keeps that secret (sealed, see
// Sealer), derives the same signature and compares. See the SigV4 documentation of AWS
// ("Create a signed AWS API request"); the canonical form below follows it step by step.

// SigV4Algorithm is the Authorization scheme of SigV4.
const SigV4Algorithm = "AWS4-HMAC-SHA256"

// MaxSigV4Skew is how far a request's X-Amz-Date may be from the server's clock, as AWS
// allows: a signed request cannot be replayed later than this.
const MaxSigV4Skew = 15 * time.Minute

const amzDateForm = "20060102T150405Z"

// The error codes AWS answers authentication failures with.
const (
	CodeMissingAuthenticationToken = "MissingAuthenticationTokenException"
	CodeIncompleteSignature        = "IncompleteSignatureException"
	CodeInvalidSignature           = "InvalidSignatureException"
	CodeUnrecognizedClient         = "UnrecognizedClientException"
)

// SigV4Error is a refused signature, with AWS's code and message for it.
type SigV4Error struct {
	Code    string
	Message string
}

func (e *SigV4Error) Error() string { return e.Code + ": " + e.Message }

// SigV4 is a parsed SigV4 Authorization header.
type SigV4 struct {
	AccessKeyID string
	// Date, Region and Service are the credential scope's.
	Date, Region, Service string
	SignedHeaders         []string
	Signature             string
}

// IsSigV4 tells whether an Authorization header value is a SigV4 signature.
func IsSigV4(header string) bool {
	return strings.HasPrefix(header, SigV4Algorithm+" ")
}

// ParseSigV4 reads an Authorization header of the form
// AWS4-HMAC-SHA256 Credential=<key>/<date>/<region>/<service>/aws4_request,
// SignedHeaders=<h1;h2>, Signature=<hex>; what is missing or malformed is an
// IncompleteSignatureException naming it, as AWS answers.
func ParseSigV4(header string) (SigV4, error) {
	rest, ok := strings.CutPrefix(header, SigV4Algorithm+" ")
	if !ok {
		return SigV4{}, &SigV4Error{CodeIncompleteSignature, "the Authorization header must start with " + SigV4Algorithm}
	}
	parts := map[string]string{}
	for _, p := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		parts[k] = v
	}
	var missing []string
	for _, k := range []string{"Credential", "Signature", "SignedHeaders"} {
		if parts[k] == "" {
			missing = append(missing, fmt.Sprintf("Authorization header requires '%s' parameter.", k))
		}
	}
	if len(missing) > 0 {
		return SigV4{}, &SigV4Error{CodeIncompleteSignature, strings.Join(missing, " ")}
	}
	scope := strings.Split(parts["Credential"], "/")
	if len(scope) != 5 || scope[4] != "aws4_request" || scope[0] == "" {
		return SigV4{}, &SigV4Error{CodeIncompleteSignature, "Credential must have the form <access key id>/<date>/<region>/<service>/aws4_request"}
	}
	sig := SigV4{AccessKeyID: scope[0], Date: scope[1], Region: scope[2], Service: scope[3],
		SignedHeaders: strings.Split(parts["SignedHeaders"], ";"), Signature: parts["Signature"]}
	if !sort.StringsAreSorted(sig.SignedHeaders) {
		return SigV4{}, &SigV4Error{CodeIncompleteSignature, "SignedHeaders must be lower-case header names sorted and separated by ';'"}
	}
	return sig, nil
}

// CheckScope checks what can be checked before the secret is looked up: that the
// request is signed for service in region, carries its date (X-Amz-Date, or Date) of
// the scope's day, signs the Host header, and was signed within MaxSigV4Skew of now.
// It returns the signing time.
func (s SigV4) CheckScope(r *http.Request, region, service string, now time.Time) (time.Time, error) {
	if s.Service != service {
		return time.Time{}, &SigV4Error{CodeInvalidSignature, fmt.Sprintf("Credential should be scoped to correct service: '%s'.", service)}
	}
	if s.Region != region {
		return time.Time{}, &SigV4Error{CodeInvalidSignature, fmt.Sprintf("Credential should be scoped to a valid region, not '%s'; this service is in '%s'.", s.Region, region)}
	}
	if !slices.Contains(s.SignedHeaders, "host") {
		return time.Time{}, &SigV4Error{CodeInvalidSignature, "'Host' must be a 'SignedHeader' in the AWS Authorization."}
	}
	if _, err := url.ParseQuery(r.URL.RawQuery); err != nil {
		return time.Time{}, &SigV4Error{CodeInvalidSignature, "The query string could not be read: " + err.Error()}
	}
	// What the request asks for and when it was signed must be signed too: otherwise a
	// captured request could be replayed as another operation with the same body.
	for _, h := range []string{"x-amz-target", "x-amz-date"} {
		if r.Header.Get(h) != "" && !slices.Contains(s.SignedHeaders, h) {
			return time.Time{}, &SigV4Error{CodeInvalidSignature, fmt.Sprintf("'%s' must be a 'SignedHeader' in the AWS Authorization.", h)}
		}
	}
	at, err := signedTime(r)
	if err != nil {
		return time.Time{}, err
	}
	at = at.UTC()
	if at.Format("20060102") != s.Date {
		return time.Time{}, &SigV4Error{CodeInvalidSignature, fmt.Sprintf("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s'", s.Date, at.Format("20060102"))}
	}
	now = now.UTC()
	if at.Before(now.Add(-MaxSigV4Skew)) {
		return time.Time{}, &SigV4Error{CodeInvalidSignature, fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - 15 min.)",
			at.Format(amzDateForm), now.Add(-MaxSigV4Skew).Format(amzDateForm), now.Format(amzDateForm))}
	}
	if at.After(now.Add(MaxSigV4Skew)) {
		return time.Time{}, &SigV4Error{CodeInvalidSignature, fmt.Sprintf("Signature not yet current: %s is still later than %s (%s + 15 min.)",
			at.Format(amzDateForm), now.Add(MaxSigV4Skew).Format(amzDateForm), now.Format(amzDateForm))}
	}
	return at, nil
}

// signedTime is the request's X-Amz-Date, or its Date header when it has none.
func signedTime(r *http.Request) (time.Time, error) {
	if raw := r.Header.Get("X-Amz-Date"); raw != "" {
		at, err := time.Parse(amzDateForm, raw)
		if err != nil {
			return at, &SigV4Error{CodeIncompleteSignature, fmt.Sprintf("the X-Amz-Date %q is not of the form %s", raw, amzDateForm)}
		}
		return at, nil
	}
	raw := r.Header.Get("Date")
	if raw == "" {
		return time.Time{}, &SigV4Error{CodeIncompleteSignature, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."}
	}
	at, err := http.ParseTime(raw)
	if err != nil {
		return at, &SigV4Error{CodeIncompleteSignature, fmt.Sprintf("the Date %q is not an HTTP date", raw)}
	}
	return at, nil
}

// Verify checks the signature of r, whose body is body, against secret, the secret of
// the access key; signedAt is what CheckScope returned.
func (s SigV4) Verify(r *http.Request, body []byte, secret string, signedAt time.Time) error {
	// SECURITY: the signature covers the payload through X-Amz-Content-Sha256 when the
	// client sends it; a body that is not what that header says (another body under a
	// signature made for the first, or UNSIGNED-PAYLOAD) is refused.
	if claimed := r.Header.Get("X-Amz-Content-Sha256"); claimed != "" {
		sum := sha256.Sum256(body)
		if !strings.EqualFold(claimed, hex.EncodeToString(sum[:])) {
			return &SigV4Error{CodeInvalidSignature, "The provided 'x-amz-content-sha256' header does not match what was computed."}
		}
	}
	want := SignatureOf(r, body, s.SignedHeaders, secret, signedAt, s.Region, s.Service)
	// SECURITY: compared in constant time.
	if !hmac.Equal([]byte(want), []byte(strings.ToLower(s.Signature))) {
		return &SigV4Error{CodeInvalidSignature, "The request signature we calculated does not match the signature you provided. " +
			"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."}
	}
	return nil
}

// SignatureOf is the SigV4 signature of r with body, signing the headers named (lower
// case), with secret, at signedAt, for region and service.
func SignatureOf(r *http.Request, body []byte, signedHeaders []string, secret string, signedAt time.Time, region, service string) string {
	day := signedAt.UTC().Format("20060102")
	scope := day + "/" + region + "/" + service + "/aws4_request"
	canonical := canonicalRequest(r, body, signedHeaders)
	sum := sha256.Sum256([]byte(canonical))
	toSign := SigV4Algorithm + "\n" + signedAt.UTC().Format(amzDateForm) + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
	key := hmacSHA256([]byte("AWS4"+secret), day)
	key = hmacSHA256(key, region)
	key = hmacSHA256(key, service)
	key = hmacSHA256(key, "aws4_request")
	return hex.EncodeToString(hmacSHA256(key, toSign))
}

// canonicalRequest is SigV4's canonical request: method, canonical URI, canonical query
// string, canonical headers, signed headers and the payload's hash, one per line.
func canonicalRequest(r *http.Request, body []byte, signedHeaders []string) string {
	var b strings.Builder
	b.WriteString(r.Method + "\n")
	// Every AWS service but S3 encodes the (already escaped) path once more.
	b.WriteString(uriEncode(r.URL.EscapedPath(), false) + "\n")
	query, _ := url.ParseQuery(r.URL.RawQuery) // CheckScope refused one that does not parse
	b.WriteString(canonicalQuery(query) + "\n")
	for _, h := range signedHeaders {
		b.WriteString(h + ":" + canonicalHeaderValue(r, h) + "\n")
	}
	b.WriteString("\n" + strings.Join(signedHeaders, ";") + "\n")
	payload := r.Header.Get("X-Amz-Content-Sha256")
	if payload == "" {
		sum := sha256.Sum256(body)
		payload = hex.EncodeToString(sum[:])
	}
	b.WriteString(payload)
	return b.String()
}

func canonicalHeaderValue(r *http.Request, name string) string {
	var values []string
	switch name {
	case "host":
		values = []string{r.Host}
	case "content-length":
		// Go keeps the length out of the header map.
		values = []string{strconv.FormatInt(r.ContentLength, 10)}
	default:
		values = r.Header.Values(name)
	}
	for i, v := range values {
		values[i] = strings.Join(strings.Fields(v), " ")
	}
	return strings.Join(values, ",")
}

// canonicalQuery is SigV4's canonical query string: each name and value encoded, the
// pairs sorted by name, then by value.
func canonicalQuery(q url.Values) string {
	type pair struct{ k, v string }
	var pairs []pair
	for k, vs := range q {
		for _, v := range vs {
			pairs = append(pairs, pair{uriEncode(k, true), uriEncode(v, true)})
		}
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	out := make([]string, len(pairs))
	for i, p := range pairs {
		out[i] = p.k + "=" + p.v
	}
	return strings.Join(out, "&")
}

// uriEncode percent-encodes every byte but the unreserved characters (and '/', unless
// encodeSlash), as SigV4 specifies.
func uriEncode(s string, encodeSlash bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b.WriteByte(c)
		case c == '/' && !encodeSlash:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}
