package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/provgraph/provgraph/metrics"
)

// writeAnswer writes what json.Marshal writes for a response, byte for byte: for data
// full of the characters json.Marshal escapes (and of quotes, backslashes and
// escapes before them, where a scan could lose track of strings), with errors and
// without, with space between tokens (left to json.Marshal), with no data, and with
// the fields writeAnswer leaves to json.Marshal.
func TestWriteAnswerIsJSONMarshal(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	pieces := []string{"<", ">", "&", "\u2028", "\u2029", "\u2027", "\u202a", `"`, `\`, `\"`, `\\`, "a", " ", "\t", "\n", "é", "✓", "\x00", "\x1f", "{", "}", "[", "]", ",", ":", "\xe2", "\xe2\x80"}
	randomString := func() string {
		var b strings.Builder
		for range rng.IntN(12) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		return b.String()
	}
	var value func(depth int) any
	value = func(depth int) any {
		switch n := rng.IntN(6); {
		case n == 0 || depth > 3:
			return randomString()
		case n == 1:
			return rng.IntN(1000)
		case n == 2:
			return nil
		case n == 3:
			l := make([]any, rng.IntN(4))
			for i := range l {
				l[i] = value(depth + 1)
			}
			return l
		default:
			m := map[string]any{}
			for range rng.IntN(4) {
				m[randomString()] = value(depth + 1)
			}
			return m
		}
	}
	// data as gqlgen writes it: strings with only quotes, backslashes and control
	// characters escaped; with indent, a space after each colon and comma.
	var write func(b *bytes.Buffer, v any, indent bool)
	write = func(b *bytes.Buffer, v any, indent bool) {
		sep := func(c byte) {
			b.WriteByte(c)
			if indent {
				b.WriteByte(' ')
			}
		}
		switch v := v.(type) {
		case string:
			b.WriteByte('"')
			for _, r := range strings.ToValidUTF8(v, "\uFFFD") {
				switch {
				case r == '"' || r == '\\':
					b.WriteByte('\\')
					b.WriteRune(r)
				case r < 0x20:
					fmt.Fprintf(b, `\u%04x`, r)
				default:
					b.WriteRune(r)
				}
			}
			b.WriteByte('"')
		case int:
			b.WriteString(strconv.Itoa(v))
		case nil:
			b.WriteString("null")
		case []any:
			b.WriteByte('[')
			for i, e := range v {
				if i > 0 {
					sep(',')
				}
				write(b, e, indent)
			}
			b.WriteByte(']')
		case map[string]any:
			b.WriteByte('{')
			for i, k := range slices.Sorted(maps.Keys(v)) {
				if i > 0 {
					sep(',')
				}
				write(b, k, indent)
				sep(':')
				write(b, v[k], indent)
			}
			b.WriteByte('}')
		}
	}
	data := func(v any, indent bool) json.RawMessage {
		var b bytes.Buffer
		write(&b, v, indent)
		require.True(t, json.Valid(b.Bytes()), "%s", b.String())
		var compacted bytes.Buffer
		require.NoError(t, json.Compact(&compacted, b.Bytes()))
		require.Equal(t, bytes.Equal(b.Bytes(), compacted.Bytes()), compactJSON(b.Bytes()), "%s", b.String())
		return b.Bytes()
	}
	check := func(resp *graphql.Response) {
		t.Helper()
		want, err := json.Marshal(resp)
		require.NoError(t, err)
		var got bytes.Buffer
		writeAnswer(&got, resp)
		require.Equal(t, string(want), got.String(), "data %q", resp.Data)
	}
	tb := true
	fastPath := 0
	for i := range 3000 {
		resp := &graphql.Response{Data: data(map[string]any{"lineage": value(0), "s": randomString()}, i%10 == 9)}
		if i%3 == 0 {
			resp.Errors = gqlerror.List{{Message: randomString(), Path: ast.Path{ast.PathName("lineage")}, Extensions: map[string]any{"code": randomString()}}}
		}
		switch i % 50 {
		case 10:
			resp.Data = nil
		case 20:
			resp.Extensions = map[string]any{"x": randomString()}
		case 30:
			resp.HasNext = &tb
		case 40:
			resp.Label, resp.Path = "l", ast.Path{ast.PathIndex(1)}
		}
		if resp.Label == "" && resp.HasNext == nil && len(resp.Extensions) == 0 && compactJSON(resp.Data) {
			fastPath++
		}
		check(resp)
	}
	assert.Greater(t, fastPath, 2000, "answers written without json.Marshal")
	check(&graphql.Response{Data: json.RawMessage(`{"a":"x\\\\"}`)})
	check(&graphql.Response{Data: json.RawMessage(`{"a":"\" <"}`)})
	check(&graphql.Response{Data: json.RawMessage("\"\xe2\x80\xa8\"")})
	check(&graphql.Response{Data: json.RawMessage("\"\xe2\x80\"")})
}

// plainJSONAccepted agrees with how transport.POST picks its content type.
func TestPlainJSONAccepted(t *testing.T) {
	t.Parallel()
	for accept, plain := range map[string]bool{
		"":                                  true,
		"*/*":                               true,
		"application/*":                     true,
		"application/json":                  true,
		"application/json; charset=utf-8":   true,
		"text/html, application/json":       true,
		"application/graphql-response+json": false,
		"application/graphql-response+json, application/json": false,
		"application/json, application/graphql-response+json": true,
		"text/html":       false,
		"not a type, */*": true,
	} {
		assert.Equal(t, plain, plainJSONAccepted(accept), "%q", accept)
	}
}

// A lineage answer of 120 nodes and 150 edges (27 KB), written by writeAnswer and by
// json.Marshal: `go test ./server -run NONE -bench Answer` (BENCHMARKS.md).
func BenchmarkAnswer(b *testing.B) {
	var data strings.Builder
	data.WriteString(`{"lineage":{"nodes":[`)
	for i := range 120 {
		if i > 0 {
			data.WriteByte(',')
		}
		fmt.Fprintf(&data, `{"id":"datasetVersion:s3://lake-pipegraph/table-%d#v%d","kind":"DATASET_VERSION"}`, i, i)
	}
	data.WriteString(`],"edges":[`)
	for i := range 150 {
		if i > 0 {
			data.WriteByte(',')
		}
		fmt.Fprintf(&data, `{"from":"datasetVersion:s3://lake-pipegraph/table-%d#v%d","to":"processingJob:pipegraph:job-%d","type":"INPUT_TO"}`, i, i, i)
	}
	data.WriteString(`]}}`)
	resp := &graphql.Response{Data: json.RawMessage(data.String())}
	b.Run("writeAnswer", func(b *testing.B) {
		b.SetBytes(int64(len(resp.Data)))
		for b.Loop() {
			writeAnswer(io.Discard, resp)
		}
	})
	b.Run("json.Marshal", func(b *testing.B) {
		b.SetBytes(int64(len(resp.Data)))
		for b.Loop() {
			out, err := json.Marshal(resp)
			if err != nil {
				b.Fatal(err)
			}
			io.Discard.Write(out)
		}
	})
}

// A request whose context ended before its operation ran gets no response from the
// executor: both transports answer it with null, and the same status.
func TestAnswerToARequestGoneIsGqlgens(t *testing.T) {
	t.Parallel()
	answer := func(gqlgenPOST bool) (int, string) {
		h := newGraphQL(Options{RequestTimeout: time.Minute, gqlgenPOST: gqlgenPOST}, metrics.New())
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		req := httptest.NewRequestWithContext(ctx, http.MethodPost, GraphQLPath, strings.NewReader(`{"query":"{ __typename }"}`))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	code, body := answer(true)
	assert.Equal(t, [2]any{http.StatusOK, "null"}, [2]any{code, body}, "gqlgen's")
	code, body = answer(false)
	assert.Equal(t, [2]any{http.StatusOK, "null"}, [2]any{code, body}, "answerPOST's")
	// Data that is not JSON at all makes both fail alike.
	assert.Panics(t, func() { writeAnswer(io.Discard, &graphql.Response{Data: json.RawMessage{}}) })
}
