package workflow

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"slices"
)

// The chains Kefu ships: seed 002's four (product quality, transport,
// billing, service attitude) and the complaint escalation of seeds 000
// and 001. They name the departments of the demo data (internal/demo);
// a shop whose departments differ edits them after installing, or
// imports its own.
//
//go:embed defaults/*.json
var defaultFiles embed.FS

// Defaults returns the shipped chains, in position order.
func Defaults() []Document {
	var out []Document
	names, _ := fs.Glob(defaultFiles, "defaults/*.json")
	for _, name := range names {
		b, _ := defaultFiles.ReadFile(name)
		var d Document
		if err := json.Unmarshal(b, &d); err != nil {
			panic(fmt.Sprintf("workflow: %s: %v", name, err)) // a build-time file; a test reads every one
		}
		d.normalize()
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b Document) int { return a.Position - b.Position })
	return out
}
