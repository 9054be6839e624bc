package sagemakerapi

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"time"
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

// listRequest is what every List operation takes besides its filters.
type listRequest struct {
	CreatedAfter  *epochTime `json:"CreatedAfter"`
	CreatedBefore *epochTime `json:"CreatedBefore"`
	SortBy        *string    `json:"SortBy"`
	SortOrder     *string    `json:"SortOrder"`
	NextToken     *string    `json:"NextToken"`
	MaxResults    *int       `json:"MaxResults"`
}

// listing is a checked listRequest and the elements it answers with.
type listing struct {
	req          listRequest
	byName, desc bool
	max          int
	items        []listed
}

// defaultListResults is how many elements a List answers when MaxResults is not sent.
const defaultListResults = 10

// listing checks the request's sort and page size into c.
func (l listRequest) listing(c *checks) *listing {
	byName, desc := sortOrder(c, l.SortBy, l.SortOrder)
	return &listing{req: l, byName: byName, desc: desc, max: c.maxResults(l.MaxResults, MaxListResults, defaultListResults)}
}

// add lists an element created at created, named name, identified by id, when it was
// created in the request's window.
func (l *listing) add(created time.Time, name, id string, summary any) {
	if !inWindow(created, l.req.CreatedAfter, l.req.CreatedBefore) {
		return
	}
	key := sortTime(created)
	if l.byName {
		key = name
	}
	l.items = append(l.items, listed{sortKey: key, name: id, summary: summary})
}

// answer is the page asked for, as {member: [...], "NextToken": …}.
func (l *listing) answer(member string) (any, error) {
	page, next, err := pageOf(l.items, l.desc, l.req.NextToken, l.max)
	if err != nil {
		return nil, err
	}
	out := map[string]any{member: page}
	if next != "" {
		out["NextToken"] = next
	}
	return out, nil
}

// sortTime writes a time so that strings sort like times.
func sortTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z") }

// inWindow tells whether t is after after and before before (either may be nil).
func inWindow(t time.Time, after, before *epochTime) bool {
	return (after == nil || t.After(after.time())) && (before == nil || t.Before(before.time()))
}
