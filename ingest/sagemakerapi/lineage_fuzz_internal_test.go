package sagemakerapi

import (
	"testing"
	"unicode/utf8"

	"github.com/provgraph/provgraph/store"
)

// FuzzLineageARN: any ARN reads as a node ID or as none, without panicking; an ID read
// from an ARN is a valid node ID, and every valid node ID written into an artifact ARN
// reads back as itself.
func FuzzLineageARN(f *testing.F) {
	a := Options{}.arns()
	for _, s := range []string{
		"arn:aws:sagemaker:us-east-1:000000000000:context/fraud-prod-aws-endpoint",
		"arn:aws:sagemaker:us-east-1:000000000000:experiment-trial-component/train-aws-training-job",
		a.arn(resArtifact, encodeKey("datasetVersion:s3://lake:a/b#sagemaker")),
		"arn:aws:sagemaker:us-east-1:000000000000:artifact/pg-", "datasetVersion:s3://lake:a#v", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if _, key, ok := a.keyOf(s); ok {
			if _, err := store.KindsOfID("key", key); err != nil {
				t.Fatalf("%q read as %q, no node ID: %v", s, key, err)
			}
		}
		if _, err := store.KindsOfID("key", s); err == nil {
			arn := a.arn(resArtifact, encodeKey(s))
			if _, key, ok := a.keyOf(arn); !ok || key != s {
				t.Fatalf("ID %q encoded as %q read back as %q (%v)", s, arn, key, ok)
			}
		}
	})
}

// FuzzQueryToken: any NextToken is refused or read, without panicking; a token made
// for a question reads back for that question only.
func FuzzQueryToken(f *testing.F) {
	f.Add("", "q1", "")
	f.Add(encodeQueryToken(queryToken{After: "arn:x"}, "q1"), "q1", "arn:x")
	f.Add("e30", "q", "a")
	f.Fuzz(func(t *testing.T, token, question, after string) {
		_, _ = decodeQueryToken(&token, question)
		if after == "" || !utf8.ValidString(after) || !utf8.ValidString(question) {
			return // ARNs and fingerprints are text
		}
		made := encodeQueryToken(queryToken{After: after}, question)
		got, err := decodeQueryToken(&made, question)
		if err != nil || got.After != after {
			t.Fatalf("token for %q read back as %+v (%v)", after, got, err)
		}
		if _, err := decodeQueryToken(&made, question+"x"); err == nil {
			t.Fatalf("a token for question %q was read for another", question)
		}
	})
}
