package blob_test

import (
	"testing"

	"github.com/kefu-desk/kefu/internal/blob"
)

func TestSniff(t *testing.T) {
	for head, want := range map[string]string{
		"\xFF\xD8\xFF\xE0\x00\x10JFIF":             "image/jpeg",
		"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR":      "image/png",
		"GIF87a\x02\x00":                           "image/gif",
		"RIFF\x24\x00\x00\x00WEBPVP8 ":             "image/webp",
		"XXXX\x24\x00\x00\x00WEBPVP8 ":             "", // WEBP without RIFF
		"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00": "image/heic",
		"\x00\x00\x00\x1cftypmif1\x00\x00\x00\x00": "image/heif",
		"%PDF-1.7\n":                               "application/pdf",
		"MZ\x90\x00\x03\x00\x00\x00":               "",
		"<svg xmlns='http://www.w3.org/2000/svg'>": "",
		"":         "",
		"\xFF\xD8": "", // too short to tell
	} {
		if got := blob.Sniff([]byte(head)); got != want {
			t.Errorf("Sniff(%q) = %q, want %q", head, got, want)
		}
	}
}
