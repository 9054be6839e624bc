package mlmd

import (
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// structPrefix marks a struct_value: MLMD stores a google.protobuf.Struct in
// string_value as this prefix and the base64 of the serialized message.
const structPrefix = "mlmd-struct::"

// propertyValue is the value of a property row: exactly one column is set. Struct and
// proto values become JSON text, since a node property holds no maps.
func propertyValue(i sql.NullInt64, d sql.NullFloat64, s sql.NullString, b, prot []byte, boolean sql.NullInt64) (any, error) {
	switch {
	case i.Valid:
		return i.Int64, nil
	case d.Valid:
		return d.Float64, nil
	case s.Valid && strings.HasPrefix(s.String, structPrefix):
		return structJSON(strings.TrimPrefix(s.String, structPrefix))
	case s.Valid:
		return s.String, nil
	case prot != nil:
		return protoJSON(prot)
	case b != nil:
		return b, nil
	case boolean.Valid:
		return boolean.Int64 != 0, nil
	}
	return nil, nil
}

func structJSON(encoded string) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return "", fmt.Errorf("struct value is not base64: %w", err)
	}
	var st structpb.Struct
	if err := proto.Unmarshal(raw, &st); err != nil {
		return "", fmt.Errorf("struct value is not a google.protobuf.Struct: %w", err)
	}
	// protojson's output is deliberately unstable in white space; re-encode for
	// deterministic records.
	text, err := protojson.Marshal(&st)
	if err != nil {
		return "", err
	}
	return compactJSON(text)
}

// protoJSON is a proto_value (a google.protobuf.Any) as {"@type": ..., "value": base64}:
// its message type is not known here.
func protoJSON(raw []byte) (string, error) {
	var a anypb.Any
	if err := proto.Unmarshal(raw, &a); err != nil {
		return "", fmt.Errorf("proto value is not a google.protobuf.Any: %w", err)
	}
	text, err := json.Marshal(map[string]string{"@type": a.GetTypeUrl(), "value": base64.StdEncoding.EncodeToString(a.GetValue())})
	return string(text), err
}

func compactJSON(text []byte) (string, error) {
	var v any
	if err := json.Unmarshal(text, &v); err != nil {
		return "", err
	}
	out, err := json.Marshal(v)
	return string(out), err
}
