package mlmd

import (
	"database/sql"
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

func TestPropertyValues(t *testing.T) {
	none := sql.NullInt64{}
	v, err := propertyValue(sql.NullInt64{Int64: 7, Valid: true}, sql.NullFloat64{}, sql.NullString{}, nil, nil, none)
	require.NoError(t, err)
	assert.Equal(t, int64(7), v)
	v, err = propertyValue(none, sql.NullFloat64{}, sql.NullString{}, []byte{1, 2}, nil, none)
	require.NoError(t, err)
	assert.Equal(t, []byte{1, 2}, v)
	v, err = propertyValue(none, sql.NullFloat64{}, sql.NullString{}, nil, nil, sql.NullInt64{Int64: 1, Valid: true})
	require.NoError(t, err)
	assert.Equal(t, true, v)
	v, err = propertyValue(none, sql.NullFloat64{}, sql.NullString{}, nil, nil, none)
	require.NoError(t, err)
	assert.Nil(t, v, "a property without a value")

	// A proto value is a google.protobuf.Any, kept as its type URL and base64 bytes.
	raw, err := proto.Marshal(&anypb.Any{TypeUrl: "type.googleapis.com/tfx.Blessing", Value: []byte("ok")})
	require.NoError(t, err)
	v, err = propertyValue(none, sql.NullFloat64{}, sql.NullString{}, nil, raw, none)
	require.NoError(t, err)
	assert.JSONEq(t, `{"@type": "type.googleapis.com/tfx.Blessing", "value": "b2s="}`, v.(string))

	// A struct value that is not one is an error naming what is wrong.
	for _, bad := range []string{structPrefix + "%%%", structPrefix + base64.StdEncoding.EncodeToString([]byte{0xff, 0xff})} {
		_, err = propertyValue(none, sql.NullFloat64{}, sql.NullString{String: bad, Valid: true}, nil, nil, none)
		assert.ErrorContains(t, err, "struct value is not")
	}
	_, err = propertyValue(none, sql.NullFloat64{}, sql.NullString{}, nil, []byte{0xff}, none)
	assert.ErrorContains(t, err, "proto value is not a google.protobuf.Any")
}
