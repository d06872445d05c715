// Package web holds the browser client: ES modules and a page, served as they are
// (no build step) from the files embedded in the binary.
package web

import (
	"embed"
	"io/fs"
)

//go:embed static
var files embed.FS

// Files is the browser client, rooted at its index.html.
func Files() fs.FS {
	sub, err := fs.Sub(files, "static")
	if err != nil {
		panic(err) // "static" is embedded above; fs.Sub fails only on an invalid name
	}
	return sub
}
