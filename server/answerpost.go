package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// answerPOST is gqlgen's POST transport (transport.POST) with its answers written in
// one pass. transport.POST writes a response with json.Marshal, which validates and
// compacts the response's data, JSON gqlgen has already written, byte by byte: about
// a fifth of a lineage request's CPU (BENCHMARKS.md, "Where a lineage request's time
// goes"). writeAnswer writes the same bytes without that second pass.
//
// It answers a request whose Accept header asks for plain JSON (no header, */*,
// application/*, application/json: what clients send); any other request, and a body
// that is not a JSON request, it hands to transport.POST, which answers them as
// before. For the rest it does what transport.POST does, in the same order: the
// Content-Type header, the body read, the operation context, the status of a refused
// operation, the operation's answer.
type answerPOST struct{ post transport.POST }

var _ graphql.Transport = answerPOST{}

// Supports is transport.POST's.
func (t answerPOST) Supports(r *http.Request) bool { return t.post.Supports(r) }

// Do answers r.
func (t answerPOST) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	if !plainJSONAccepted(r.Header.Get("Accept")) {
		t.post.Do(w, r, exec)
		return
	}
	ctx := r.Context()
	start := graphql.Now()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.Header().Add("Content-Type", "application/json")
		writeAnswer(w, exec.DispatchError(ctx, gqlerror.List{gqlerror.Errorf("could not read request body: %+v", err)}))
		return
	}
	params := &graphql.RawParams{}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(params); err != nil {
		// transport.POST words the error (and quotes the body) as it always has.
		r.Body = io.NopCloser(bytes.NewReader(body))
		t.post.Do(w, r, exec)
		return
	}
	w.Header().Add("Content-Type", "application/json")
	params.Headers = r.Header
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}
	rc, opErr := exec.CreateOperationContext(ctx, params)
	if opErr != nil {
		status := http.StatusOK
		if errcode.GetErrorKind(opErr) == errcode.KindProtocol {
			status = http.StatusUnprocessableEntity
		}
		w.WriteHeader(status)
		writeAnswer(w, exec.DispatchError(graphql.WithOperationContext(ctx, rc), opErr))
		return
	}
	responses, ctx := exec.DispatchOperation(ctx, rc)
	writeAnswer(w, responses(ctx))
}

// plainJSONAccepted tells whether transport.POST would answer a request with this
// Accept header as application/json (its first media type it knows decides).
func plainJSONAccepted(accept string) bool {
	if accept == "" {
		return true
	}
	for part := range strings.SplitSeq(accept, ",") {
		mediaType, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mediaType {
		case "*/*", "application/*", "application/json":
			return true
		case "application/graphql-response+json":
			return false
		}
	}
	return false
}

// writeAnswer writes resp as json.Marshal does: the errors (by json.Marshal), then the
// data with <, > and & and the line and paragraph separators escaped as \u003c, \u003e,
// \u0026, \u2028 and \u2029. No response (the executor's answer to a request whose
// context ended) is null. A response with more than errors and data, or whose data is
// empty or has space between its tokens (which json.Marshal would take out), is
// written by json.Marshal itself. The data is gqlgen's own output and is not validated
// again: that is the pass this writer saves.
func writeAnswer(w io.Writer, resp *graphql.Response) {
	if resp == nil {
		io.WriteString(w, "null")
		return
	}
	if resp.Label != "" || resp.Path != nil || resp.HasNext != nil || len(resp.Extensions) > 0 ||
		(resp.Data != nil && len(resp.Data) == 0) || !compactJSON(resp.Data) {
		b, err := json.Marshal(resp)
		if err != nil {
			panic(fmt.Errorf("unable to marshal %s: %w", string(resp.Data), err))
		}
		w.Write(b)
		return
	}
	var b bytes.Buffer
	b.Grow(len(resp.Data) + 64)
	b.WriteByte('{')
	if len(resp.Errors) > 0 {
		errs, err := json.Marshal(resp.Errors)
		if err != nil {
			panic(fmt.Errorf("unable to marshal errors: %w", err))
		}
		b.WriteString(`"errors":`)
		b.Write(errs)
		b.WriteByte(',')
	}
	b.WriteString(`"data":`)
	if resp.Data == nil {
		b.WriteString("null")
	} else {
		appendEscaped(&b, resp.Data)
	}
	b.WriteByte('}')
	w.Write(b.Bytes())
}

// compactJSON tells whether the JSON text data has no space between its tokens (there
// may be any inside strings). data is JSON gqlgen wrote; it is not validated. Strings
// are skipped from quote to quote (an escaped quote follows an odd number of
// backslashes), so the scan touches little more than the text between them.
func compactJSON(data []byte) bool {
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			return false
		case '"':
			end := closingQuote(data, i+1)
			if end < 0 {
				return true
			}
			i = end
		}
	}
	return true
}

// closingQuote is the index of the quote that ends the string whose text starts at
// from in data, or -1.
func closingQuote(data []byte, from int) int {
	for {
		j := bytes.IndexByte(data[from:], '"')
		if j < 0 {
			return -1
		}
		q := from + j
		backslashes := 0
		for k := q - 1; k >= from && data[k] == '\\'; k-- {
			backslashes++
		}
		if backslashes%2 == 0 {
			return q
		}
		from = q + 1
	}
}

// escapedByJSON marks the bytes appendEscaped looks at: <, > and &, and the first byte
// of U+2028 and U+2029.
var escapedByJSON = [256]bool{'<': true, '>': true, '&': true, 0xE2: true}

// appendEscaped writes data to b with the characters json.Marshal escapes in a
// json.RawMessage (HTML's <, > and &, U+2028 and U+2029) escaped as it does.
func appendEscaped(b *bytes.Buffer, data []byte) {
	const hex = "0123456789abcdef"
	from := 0
	for i := 0; i < len(data); i++ {
		c := data[i]
		if !escapedByJSON[c] {
			continue
		}
		switch {
		case c != 0xE2:
			b.Write(data[from:i])
			b.WriteString(`\u00`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xF])
			from = i + 1
		case i+2 < len(data) && data[i+1] == 0x80 && data[i+2]&^1 == 0xA8:
			b.Write(data[from:i])
			b.WriteString(`\u202`)
			b.WriteByte(hex[data[i+2]&0xF])
			i += 2
			from = i + 1
		}
	}
	b.Write(data[from:])
}
