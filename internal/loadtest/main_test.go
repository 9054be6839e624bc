package main

import "testing"

func TestReplaceSection(t *testing.T) {
	for _, tt := range []struct{ name, doc, want string }{
		{"appended", "# B\n\n## Lineage\n\nx\n", "# B\n\n## Lineage\n\nx\n\n## Load test\n\nnew\n"},
		{"replaced at the end", "# B\n\n## Load test\n\nold\n", "# B\n\n## Load test\n\nnew\n"},
		{"replaced in the middle", "# B\n\n## Load test\n\nold\n\n## Other\n\ny\n", "# B\n\n## Load test\n\nnew\n\n## Other\n\ny\n"},
	} {
		if got := ReplaceSection(tt.doc, "## Load test", "## Load test\n\nnew\n"); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}
