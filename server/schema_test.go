package server_test

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

// GraphiQL shows descriptions to the people exploring the graph; for many of them that
// is the manual. Every type, field, argument, input field and enum value has one.
func TestSchemaDescribesEverything(t *testing.T) {
	t.Parallel()
	schema := loadSchema(t)
	for name, def := range schema.Types {
		if def.BuiltIn {
			continue
		}
		if name != "Query" && name != "Mutation" {
			assert.NotEmpty(t, def.Description, "type %s", name)
		}
		for _, f := range def.Fields {
			if isIntrospection(f.Name) {
				continue
			}
			assert.NotEmpty(t, f.Description, "%s.%s", name, f.Name)
			for _, a := range f.Arguments {
				assert.NotEmpty(t, a.Description, "%s.%s(%s)", name, f.Name, a.Name)
			}
		}
		for _, v := range def.EnumValues {
			assert.NotEmpty(t, v.Description, "%s.%s", name, v.Name)
		}
	}
}

func isIntrospection(name string) bool { return len(name) > 1 && name[:2] == "__" }

// loadSchema parses schema.graphqls.
func loadSchema(t *testing.T) *ast.Schema {
	t.Helper()
	src, err := os.ReadFile("../schema.graphqls")
	require.NoError(t, err)
	schema, gqlErr := gqlparser.LoadSchema(&ast.Source{Name: "schema.graphqls", Input: string(src)})
	require.Nil(t, gqlErr)
	return schema
}
