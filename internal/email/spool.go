package email

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/textproto"
	"strconv"
	"strings"

	"github.com/kefu-desk/kefu/internal/blob"
)

// inMemory is the largest message parsed from memory. Larger ones are
// parsed from the stored copy with their big parts streamed (parseLarge),
// so a 25 MB attachment never sits in memory.
const inMemory = 1 << 20

// spooled is a raw message written to the blob store, or held to be
// written with its inbound log entry.
type spooled struct {
	Sum  string
	Size int64
	// Raw is the whole message when it is at most inMemory bytes.
	Raw []byte
	// Held is the message when the store left it to be written in the
	// transaction of its inbound log entry; nil once stored.
	Held *blob.Held
}

// spool streams r into the store (which hashes while writing) and keeps
// a copy in memory only while the message is small.
func spool(ctx context.Context, store blob.Store, r io.Reader, limit int64) (*spooled, error) {
	c := &capture{max: inMemory}
	sp := &spooled{}
	var err error
	// A typical mail comes back held: it is written with its log entry,
	// in the one transaction that stores what the mail became, so a mail
	// that is refused stores nothing.
	sp.Sum, sp.Size, sp.Held, err = blob.Spool(ctx, store, io.TeeReader(r, c), limit)
	if err != nil {
		return nil, err
	}
	switch {
	case sp.Held != nil:
		sp.Raw = sp.Held.Bytes() // not in the store yet, so only here
	case !c.over:
		sp.Raw = c.buf
	}
	return sp, nil
}

// capture keeps what is written until it exceeds max, then drops it.
type capture struct {
	buf  []byte
	max  int
	over bool
}

func (c *capture) Write(p []byte) (int, error) {
	if !c.over {
		if len(c.buf)+len(p) > c.max {
			c.over, c.buf = true, nil
		} else {
			c.buf = append(c.buf, p...)
		}
	}
	return len(p), nil
}

// stubPrefix marks the placeholder that stands in the skeleton for a part
// whose content went straight to the blob store.
const stubPrefix = "kefu-spooled:"

// stubbed reads a placeholder back: the blob's hash and size.
func stubbed(content []byte) (sum string, size int64, ok bool) {
	rest, ok := bytes.CutPrefix(content, []byte(stubPrefix))
	if !ok {
		return "", 0, false
	}
	s, n, ok := strings.Cut(strings.TrimSpace(string(rest)), ":")
	size, err := strconv.ParseInt(n, 10, 64)
	return s, size, ok && err == nil && len(s) == 64
}

// skeleton copies a MIME message line by line, except that the body of
// every attachment-like leaf part inside a multipart is decoded on the fly
// into the blob store and replaced by a placeholder. The result is small
// and parses with the ordinary parser, which then sees the placeholders as
// the attachments' contents. Headers are copied byte for byte, so
// charsets, encoded words and bounce reports read exactly as they would
// from the original.
type skeleton struct {
	ctx   context.Context
	store blob.Store
	limit int64
	in    *bufio.Reader
	out   bytes.Buffer
	stack []string // open multipart boundaries, innermost last
	// atLineStart is false while a line longer than the reader's buffer is
	// being copied in pieces; such pieces are never boundaries.
	atLineStart bool
	// pending is a delimiter line read by stream and handed back.
	pending []byte
}

var errNotMultipart = errors.New("email: not a multipart message")

func buildSkeleton(ctx context.Context, store blob.Store, r io.Reader, limit int64) ([]byte, error) {
	s := &skeleton{ctx: ctx, store: store, limit: limit, in: bufio.NewReaderSize(r, 64<<10), atLineStart: true}
	h, err := s.header()
	if err != nil {
		return nil, err
	}
	ct, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(ct, "multipart/") || params["boundary"] == "" {
		return nil, errNotMultipart
	}
	s.stack = append(s.stack, params["boundary"])
	if err := s.copyBody(); err != nil {
		return nil, err
	}
	return s.out.Bytes(), nil
}

// line returns the next line (with its terminator) or a piece of a long
// one; complete says whether it ends a line.
func (s *skeleton) line() (b []byte, complete bool, err error) {
	if s.pending != nil {
		b, s.pending = s.pending, nil
		return b, true, nil
	}
	b, err = s.in.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return b, false, nil
	}
	if errors.Is(err, io.EOF) && len(b) > 0 {
		return b, true, nil
	}
	return b, err == nil, err
}

// header copies a header block and returns it parsed.
func (s *skeleton) header() (textproto.MIMEHeader, error) {
	start := s.out.Len()
	for {
		b, complete, err := s.line()
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		s.out.Write(b)
		if complete && len(bytes.TrimRight(b, "\r\n")) == 0 || errors.Is(err, io.EOF) {
			break
		}
	}
	raw := s.out.Bytes()[start:]
	h, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(append(bytes.Clone(raw), '\r', '\n')))).ReadMIMEHeader()
	if err != nil && len(h) == 0 {
		h = textproto.MIMEHeader{}
	}
	return h, nil
}

// boundary reports whether b is a delimiter line of an open multipart:
// the depth of that multipart in the stack and whether it closes it.
func (s *skeleton) boundary(b []byte) (depth int, closing, ok bool) {
	t := bytes.TrimRight(b, " \t\r\n")
	if !bytes.HasPrefix(t, []byte("--")) {
		return 0, false, false
	}
	for i := len(s.stack) - 1; i >= 0; i-- {
		d := []byte("--" + s.stack[i])
		if bytes.Equal(t, d) {
			return i, false, true
		}
		if bytes.Equal(t, append(d, '-', '-')) {
			return i, true, true
		}
	}
	return 0, false, false
}

// copyBody copies text until the message ends, handling each part it
// meets.
func (s *skeleton) copyBody() error {
	for {
		b, complete, err := s.line()
		if errors.Is(err, io.EOF) && len(b) == 0 {
			return nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		lineStart := s.atLineStart
		s.atLineStart = complete
		if lineStart && complete {
			if depth, closing, ok := s.boundary(b); ok {
				s.out.Write(b)
				s.stack = s.stack[:depth+1]
				if closing {
					s.stack = s.stack[:depth]
					continue
				}
				if err := s.part(); err != nil {
					return err
				}
				continue
			}
		}
		s.out.Write(b)
	}
}

// part handles one body part after its delimiter line: nested multiparts
// push their boundary; attachment-like leaves are streamed out; anything
// else is left for copyBody to copy.
func (s *skeleton) part() error {
	h, err := s.header()
	if err != nil {
		return err
	}
	ct, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		ct = "text/plain"
	}
	if strings.HasPrefix(ct, "multipart/") && params["boundary"] != "" {
		s.stack = append(s.stack, params["boundary"])
		return nil
	}
	disp, _, _ := mime.ParseMediaType(h.Get("Content-Disposition"))
	cte := strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding")))
	known := cte == "" || cte == "base64" || cte == "quoted-printable" || cte == "7bit" || cte == "8bit" || cte == "binary"
	// Text bodies, forwarded messages and delivery reports stay in the
	// skeleton: the parser reads them.
	if !known || strings.HasPrefix(ct, "message/") || strings.HasPrefix(ct, "multipart/") || (strings.HasPrefix(ct, "text/") && disp != "attachment") {
		return nil
	}
	return s.stream(cte)
}

// stream decodes a part's body into the blob store until the next
// delimiter, then writes a placeholder where the body was. The line break
// before a delimiter belongs to the delimiter, so it is held back until
// the next line shows it is content.
func (s *skeleton) stream(cte string) error {
	pr, pw := io.Pipe()
	type result struct {
		sum  string
		size int64
		err  error
	}
	done := make(chan result, 1)
	go func() {
		var r io.Reader = pr
		switch cte {
		case "base64":
			r = lenient{base64.NewDecoder(base64.RawStdEncoding, &base64Filter{r: pr})}
		case "quoted-printable":
			r = quotedprintable.NewReader(pr)
		}
		sum, size, err := s.store.Put(s.ctx, r, s.limit)
		pr.CloseWithError(err) // unblock the writer if Put gave up early
		done <- result{sum, size, err}
	}()
	var held []byte
	var werr error
	write := func(p []byte) {
		if werr == nil {
			_, werr = pw.Write(p)
		}
	}
	for {
		b, complete, err := s.line()
		if err != nil && !errors.Is(err, io.EOF) {
			pw.CloseWithError(err)
			<-done
			return err
		}
		if len(b) == 0 {
			// The message ended without a closing delimiter: the last line
			// break is content, as the parser reads it.
			write(held)
			break
		}
		lineStart := s.atLineStart
		s.atLineStart = complete
		if lineStart && complete {
			if _, _, ok := s.boundary(b); ok {
				s.pending = bytes.Clone(b)
				s.atLineStart = true
				break
			}
		}
		write(held)
		held = nil
		if complete {
			content := bytes.TrimRight(b, "\r\n")
			write(content)
			held = append(held[:0], b[len(content):]...)
		} else {
			write(b)
		}
	}
	pw.Close()
	res := <-done
	if res.err != nil {
		return res.err
	}
	token := fmt.Sprintf("%s%s:%d", stubPrefix, res.sum, res.size)
	if cte == "base64" {
		token = base64.StdEncoding.EncodeToString([]byte(token))
	}
	s.out.WriteString(token)
	s.out.WriteString("\r\n")
	return nil
}

// base64Filter passes only base64 alphabet characters, so line breaks,
// stray characters and padding (even mid-stream, as some mailers send)
// do not stop the decoder; what can be decoded is kept, as in the parser.
type base64Filter struct{ r io.Reader }

func (f *base64Filter) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		n, err := f.r.Read(p)
		j := 0
		for _, c := range p[:n] {
			if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/' {
				p[j] = c
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}

// lenient ends a base64 stream at its first undecodable quantum (a lone
// trailing character) instead of failing the message.
type lenient struct{ r io.Reader }

func (l lenient) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	var corrupt base64.CorruptInputError
	if errors.As(err, &corrupt) {
		err = io.EOF
	}
	return n, err
}
