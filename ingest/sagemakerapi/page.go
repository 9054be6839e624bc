package sagemakerapi

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
)

// listed is one element of a List operation's answer with what it is sorted by.
type listed struct {
	// sortKey orders the elements (a name, or a creation time written so that strings
	// sort like times); name breaks ties and identifies the element.
	sortKey, name string
	summary       any
}

// pageToken is where the next page starts: after the element with this sort key and
// name. A token stays right when elements are added between pages: nothing is skipped
// or answered twice.
type pageToken struct {
	SortKey string `json:"k"`
	Name    string `json:"n"`
}

func encodeToken(t pageToken) string {
	b, _ := json.Marshal(t)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeToken(s string) (pageToken, error) {
	var t pageToken
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &t)
	}
	if err != nil || t.Name == "" {
		return pageToken{}, validation("the NextToken is not one provgraph gave: pass the NextToken of the previous answer unchanged")
	}
	return t, nil
}

// sortOrder reads SortBy and SortOrder; byName tells whether SortBy is Name (else
// CreationTime, the default), descending whether SortOrder is Descending (the default).
func sortOrder(c *checks, sortBy, order *string) (byName, descending bool) {
	descending = true
	if sortBy != nil {
		switch *sortBy {
		case "Name":
			byName = true
		case "CreationTime":
		default:
			c.fail("sortBy", *sortBy, "Member must satisfy enum value set: [Name, CreationTime]")
		}
	}
	if order != nil {
		switch *order {
		case "Ascending":
			descending = false
		case "Descending":
		default:
			c.fail("sortOrder", *order, "Member must satisfy enum value set: [Ascending, Descending]")
		}
	}
	return byName, descending
}

// pageOf sorts items and returns the page after token (nil: the first) of at most max
// elements, with the token of the next page ("" when this is the last).
func pageOf(items []listed, descending bool, token *string, max int) ([]any, string, error) {
	cmp := func(a, b listed) int {
		if c := strings.Compare(a.sortKey, b.sortKey); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	}
	if descending {
		slices.SortFunc(items, func(a, b listed) int { return cmp(b, a) })
	} else {
		slices.SortFunc(items, cmp)
	}
	start := 0
	if token != nil && *token != "" {
		t, err := decodeToken(*token)
		if err != nil {
			return nil, "", err
		}
		after := listed{sortKey: t.SortKey, name: t.Name}
		start = len(items)
		for i, it := range items {
			c := cmp(it, after)
			if descending {
				c = -c
			}
			if c > 0 {
				start = i
				break
			}
		}
	}
	end := min(start+max, len(items))
	out := make([]any, 0, end-start)
	for _, it := range items[start:end] {
		out = append(out, it.summary)
	}
	next := ""
	if end < len(items) {
		last := items[end-1]
		next = encodeToken(pageToken{SortKey: last.sortKey, Name: last.name})
	}
	return out, next, nil
}
