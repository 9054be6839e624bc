// Package web holds the console's and GraphiQL's built assets, embedded into the binary.
//
// The sources are the TypeScript under src/, built by `make web` (npm ci, then Vite) into
// dist/console. A binary built before that has no console: Built reports false and the
// server's / says how to build it.
package web

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// ConsoleDir is where the built console lives inside the embedded tree.
const ConsoleDir = "dist/console"

// Assets returns the built console: index.html, graphiql.html and assets/. It is empty
// when the binary was built without them.
func Assets() fs.FS {
	sub, err := fs.Sub(dist, ConsoleDir)
	if err != nil {
		// fs.Sub only fails on an invalid path, and ConsoleDir is a constant.
		panic(err)
	}
	return sub
}

// Built reports whether the console was built into this binary.
func Built() bool {
	_, err := fs.Stat(Assets(), "index.html")
	return err == nil
}
