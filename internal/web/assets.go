package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
)

// static holds the stylesheet, our script and the vendored libraries:
// everything a page loads, so the binary needs nothing from the network
// or from Node.
//
//go:embed static
var static embed.FS

type asset struct {
	body  []byte
	hash  string
	ctype string
}

// assets are read and hashed once at start. URLs carry the content hash
// (/static/<hash>/app.css), so browsers may cache them for a year and a
// new release is fetched at once.
var assets = func() map[string]asset {
	m := map[string]asset{}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) == ".md" {
			return err
		}
		b, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ct := mime.TypeByExtension(path.Ext(p))
		if ct == "" {
			ct = "application/octet-stream"
		}
		m[p[len("static/"):]] = asset{body: b, hash: hex.EncodeToString(sum[:])[:12], ctype: ct}
		return nil
	})
	if err != nil {
		panic(err)
	}
	return m
}()

// assetURL is the cache-busting URL of a static file ("app.css").
func assetURL(name string) string {
	a, ok := assets[name]
	if !ok {
		panic("web: no static file " + name) // a typo in a template; tests render every page
	}
	return "/static/" + a.hash + "/" + name
}

// serveAsset serves a static file. A request naming an old hash (a page
// rendered before a deploy) still gets the current file, uncached.
func serveAsset(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "*")
	a, ok := assets[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	if chi.URLParam(r, "hash") == a.hash {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	w.Header().Set("Content-Type", a.ctype)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	// No modification time: the hash in the URL is the version.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}

// serveFixed serves a static file at an address without a hash in it:
// the scripts shops paste into their own pages (the contact form's, the
// chat widget). Browsers keep it for maxAge, then revalidate it by its
// content hash (ETag), so a new release reaches every shop soon.
func serveFixed(name string, maxAge time.Duration) http.HandlerFunc {
	a, ok := assets[name]
	if !ok {
		panic("web: no static file " + name)
	}
	cache := "public, max-age=" + strconv.Itoa(int(maxAge.Seconds()))
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", a.ctype)
		w.Header().Set("Cache-Control", cache)
		w.Header().Set("ETag", `"`+a.hash+`"`)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Access-Control-Allow-Origin", "*")
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
	}
}
