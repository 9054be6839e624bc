package openlineage

// EventField exposes eventField to the tests.
var EventField = eventField
