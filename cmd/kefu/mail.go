package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/kefu-desk/kefu/internal/email"
)

// MailCmd groups email tools.
type MailCmd struct {
	Parse MailParseCmd `cmd:"" help:"Parse a raw RFC 5322 message and print what Kefu reads from it as JSON."`
}

// MailParseCmd prints the parsed form of a message.
type MailParseCmd struct {
	File string `arg:"" help:"The message file, or - for standard input." type:"path"`
}

// Run parses the file. Anything that is a message at all parses, with
// what went wrong listed under "problems", and exits 0.
func (c *MailParseCmd) Run() error {
	var r io.Reader = os.Stdin
	if c.File != "-" {
		f, err := os.Open(c.File)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	m, err := email.Parse(r)
	if err != nil {
		return fmt.Errorf("%s: %w", c.File, err)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(m)
}
