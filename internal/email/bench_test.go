package email_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kefu-desk/kefu/internal/blob"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
	"github.com/kefu-desk/kefu/internal/email"
)

// typical is an 11 KB mail like BenchmarkParse's: Chinese text and HTML
// alternatives and a 4 KB PDF, with its own Message-ID, sender and
// attachment bytes so each one is a new ticket with new blobs.
func typical(i int) []byte {
	var body strings.Builder
	for range 20 {
		body.WriteString("您好，我在贵店购买的商品到现在还没有收到，订单号是 20260303-8899，麻烦帮我查一下物流。\r\n")
	}
	text := body.String()
	html := "<html><body><p>" + strings.ReplaceAll(text, "\r\n", "</p><p>") + "</p></body></html>"
	pdf := bytes.Repeat(fmt.Appendf(nil, "%016d", i), 256)
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: =?utf-8?B?5byg5LiJ?= <zhang%d@example.cn>\r\nTo: service@shop.example.cn\r\n"+
		"Subject: =?utf-8?B?5YWz5LqO6K6i5Y2V55qE6Zeu6aKY?=\r\nDate: Tue, 3 Mar 2026 10:15:00 +0800\r\n"+
		"Message-ID: <bench-%d@example.cn>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"m\"\r\n\r\n", i, i)
	b.WriteString("--m\r\nContent-Type: multipart/alternative; boundary=\"a\"\r\n\r\n" +
		"--a\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + text +
		"--a\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + html + "\r\n--a--\r\n" +
		"--m\r\nContent-Type: application/pdf; name=\"=?utf-8?B?5Y+R56WoLnBkZg==?=\"\r\n" +
		"Content-Disposition: attachment\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	b.WriteString(base64Lines(pdf))
	b.WriteString("--m--\r\n")
	return b.Bytes()
}

func base64Lines(data []byte) string {
	enc := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	return b.String() + enc + "\r\n"
}

// BenchmarkReceive stores typical mails end to end through the inbound
// service on SQLite (spool, parse, customer, ticket, attachment, log,
// acknowledgement job), several senders at once. "tiered" is the blob
// store Kefu runs with (blob.New, as cmd/kefu/app.go builds it: these
// blobs all go to the database); "files" is blob.Dir alone, with a
// create-sync-rename per blob; "memory" keeps blobs in memory, to show
// what the rest of the path costs.
func BenchmarkReceive(b *testing.B) {
	b.Run("tiered", func(b *testing.B) { benchReceive(b, nil) })
	b.Run("files", func(b *testing.B) { benchReceive(b, blob.Dir{Root: b.TempDir()}) })
	b.Run("memory", func(b *testing.B) { benchReceive(b, &memBlobs{m: map[string][]byte{}}) })
}

func benchReceive(b *testing.B, store blob.Store) {
	h := newHarness(b, databasetest.Open(b, "sqlite"))
	if store != nil {
		h.blobs, h.in.Blobs, h.out.Blobs, h.tickets.Blobs = store, store, store, store
	}
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(4)
	cpu0 := databasetest.CPUTime()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			raw := typical(int(n.Add(1)))
			if _, err := h.in.Receive(h.ctx, email.Delivery{MailboxID: h.mailbox.ID, Source: "api"}, bytes.NewReader(raw)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	// CPU per mail stays meaningful when other work on the machine slows
	// the wall clock.
	b.ReportMetric(float64(databasetest.CPUTime()-cpu0)/float64(b.N)/1e3, "cpu-µs/op")
}

// bigMail writes a mail with a size-byte attachment to a file, in pieces,
// so building it holds no copy in memory.
func bigMail(tb testing.TB, size int) string {
	path := filepath.Join(tb.TempDir(), "big.eml")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	fmt.Fprint(f, "From: Wang <wang.fang@example.cn>\r\nTo: service@shop.example.cn\r\nSubject: =?utf-8?B?6KeG6aKR?=\r\n"+
		"Message-ID: <big@example.cn>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"m\"\r\n\r\n"+
		"--m\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n开箱视频见附件。\r\n"+
		"--m\r\nContent-Type: video/mp4; name=\"unboxing.mp4\"\r\nContent-Disposition: attachment; filename=\"unboxing.mp4\"\r\n"+
		"Content-Transfer-Encoding: base64\r\n\r\n")
	chunk := make([]byte, 57*1024) // 57 bytes → one 76-character line
	for i := range chunk {
		chunk[i] = byte(i * 7)
	}
	for written := 0; written < size; written += len(chunk) {
		fmt.Fprint(f, base64Lines(chunk[:min(len(chunk), size-written)]))
	}
	fmt.Fprint(f, "--m--\r\n")
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return path
}

// peakHeap runs fn and returns the most heap in use above what was in
// use before, sampled every millisecond.
func peakHeap(fn func()) uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > base && ms.HeapAlloc-base > peak.Load() {
				peak.Store(ms.HeapAlloc - base)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	fn()
	close(done)
	wg.Wait()
	return peak.Load()
}

// BenchmarkReceiveLarge stores a mail with a 25 MB attachment through the
// inbound service and reports the peak extra heap, against parsing the
// same mail whole (what the parser alone needs).
func BenchmarkReceiveLarge(b *testing.B) {
	path := bigMail(b, 25<<20)
	b.Run("inbound", func(b *testing.B) {
		var peak uint64
		for b.Loop() {
			h := newHarness(b, databasetest.Open(b, "sqlite"))
			f, _ := os.Open(path)
			peak = max(peak, peakHeap(func() {
				rec, err := h.in.Receive(context.Background(), email.Delivery{Source: "api"}, f)
				if err != nil || rec.Outcome != email.NewTicket {
					b.Fatal(rec, err)
				}
			}))
			f.Close()
		}
		b.ReportMetric(float64(peak)/(1<<20), "peak-MB")
	})
	b.Run("parse-whole", func(b *testing.B) {
		var peak uint64
		for b.Loop() {
			f, _ := os.Open(path)
			peak = max(peak, peakHeap(func() {
				m, err := email.Parse(f)
				if err != nil || len(m.Attachments) != 1 {
					b.Fatal(err)
				}
			}))
			f.Close()
		}
		b.ReportMetric(float64(peak)/(1<<20), "peak-MB")
	})
}

// TestLargeAttachmentStreams checks the 25 MB attachment arrives intact
// through the streaming path, byte for byte.
func TestLargeAttachmentStreams(t *testing.T) {
	h := newHarness(t, databasetest.Open(t, "sqlite"))
	path := bigMail(t, 3<<20+1)
	f, _ := os.Open(path)
	defer f.Close()
	rec, err := h.in.Receive(h.ctx, email.Delivery{Source: "api"}, f)
	if err != nil {
		t.Fatal(err)
	}
	ms := h.messages(t, rec.TicketID)
	if len(ms) != 1 || len(ms[0].Attachments) != 1 || !strings.Contains(ms[0].Text, "开箱视频") {
		t.Fatalf("stored %+v", ms)
	}
	a := ms[0].Attachments[0]
	if a.Filename != "unboxing.mp4" || a.ContentType != "video/mp4" || a.Size != 3<<20+1 {
		t.Fatalf("attachment %+v", a)
	}
	_, rc, err := h.tickets.OpenAttachment(h.ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got, _ := io.ReadAll(rc)
	for i, c := range got {
		if c != byte((i%(57*1024))*7) {
			t.Fatalf("byte %d differs", i)
		}
	}
}

// memBlobs is a blob.Store in memory, for the benchmark only.
type memBlobs struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (s *memBlobs) Put(_ context.Context, r io.Reader, limit int64) (string, int64, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return "", 0, err
	}
	sum := sha256.Sum256(data)
	key := hex.EncodeToString(sum[:])
	s.mu.Lock()
	s.m[key] = data
	s.mu.Unlock()
	return key, int64(len(data)), nil
}

func (s *memBlobs) Open(_ context.Context, sum string) (io.ReadSeekCloser, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	data, ok := s.m[sum]
	if !ok {
		return nil, os.ErrNotExist
	}
	return nopCloser{bytes.NewReader(data)}, nil
}

func (s *memBlobs) Exists(_ context.Context, sum string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.m[sum]
	return ok, nil
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }
