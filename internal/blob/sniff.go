package blob

import "bytes"

// sniffed are the file types Kefu accepts from customers, by their first
// bytes: what phones and cameras produce, and PDF.
var sniffed = []struct {
	offset int
	magic  string
	ctype  string
}{
	{0, "\xff\xd8\xff", "image/jpeg"},
	{0, "\x89PNG\r\n\x1a\n", "image/png"},
	{0, "GIF87a", "image/gif"},
	{0, "GIF89a", "image/gif"},
	{8, "WEBP", "image/webp"}, // after "RIFF" and a length
	{4, "ftypheic", "image/heic"},
	{4, "ftypheix", "image/heic"},
	{4, "ftyphevc", "image/heic"},
	{4, "ftypmif1", "image/heif"},
	{4, "ftypmsf1", "image/heif"},
	{0, "%PDF-", "application/pdf"},
}

// Sniff names the type of a customer's file from its first bytes (16 are
// enough): JPEG, PNG, GIF, WebP, HEIC/HEIF or PDF, else "". What a browser
// or a file name claims is not trusted: a file is what its bytes are, and
// each caller accepts the types it wants of these.
func Sniff(head []byte) string {
	for _, t := range sniffed {
		if len(head) < t.offset+len(t.magic) || string(head[t.offset:t.offset+len(t.magic)]) != t.magic {
			continue
		}
		if t.ctype == "image/webp" && !bytes.HasPrefix(head, []byte("RIFF")) {
			continue
		}
		return t.ctype
	}
	return ""
}
