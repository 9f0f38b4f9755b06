package email

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"

	"github.com/kefu-desk/kefu"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json from the parser's output")

// TestGolden parses each testdata/*.eml and compares the JSON output with
// testdata/<name>.golden.json. Run with -update after a deliberate change,
// then read the diff: the golden files are what a person reading the mail
// should see.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.eml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 20 {
		t.Fatalf("expected at least 20 fixtures, found %d", len(files))
	}
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".eml")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			m, err := Parse(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(m, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := filepath.Join("testdata", name+".golden.json")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("output differs from %s (-want +got):\n%s", golden, diff)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	if _, err := ParseBytes(nil); !kefu.IsCode(err, kefu.Invalid) {
		t.Errorf("empty input: got %v, want an Invalid error", err)
	}
	if _, err := Parse(strings.NewReader(" \r\n\r\n")); !kefu.IsCode(err, kefu.Invalid) {
		t.Errorf("blank input: got %v, want an Invalid error", err)
	}
	boom := errors.New("boom")
	if _, err := Parse(iotest.ErrReader(boom)); !errors.Is(err, boom) {
		t.Errorf("unreadable reader: got %v, want it wrapped", err)
	}
}

// TestNeverLoses checks that inputs which are barely messages still come
// back as results with their content.
func TestNeverLoses(t *testing.T) {
	for _, raw := range []string{
		"just a line of text",
		"Subject: only a header",
		"Subject: x\r\nContent-Type: multipart/mixed\r\n\r\nno boundary here",
		"Subject: x\r\nContent-Type: multipart/mixed; boundary=\"a\"\r\n\r\n--a\r\nContent-Type: text/plain\r\n\r\nunterminated",
		"Content-Type: ;;;\r\n\r\nbody",
		":\r\n\r\nbody",
		"\x00\x01\x02",
	} {
		m, err := ParseBytes([]byte(raw))
		if err != nil {
			t.Errorf("%q: %v", raw, err)
			continue
		}
		if m.Problems == nil || m.To == nil || m.Attachments == nil || m.References == nil {
			t.Errorf("%q: nil slice in result", raw)
		}
	}
}

func TestDecodeHeader(t *testing.T) {
	d := &headerDecoder{problem: func(string) {}}
	for _, tc := range []struct{ in, want string }{
		{"=?utf-8?B?5YWz?= =?utf-8?B?5LqO?=", "关于"},
		// 关 split after its second byte, across a fold.
		{"=?UTF-8?B?5YU=?=\r\n =?utf-8?B?sw==?=", "关"},
		{"=?gb2312?B?ztI=?=", "我"},
		{"=?gb18030?B?suLK1A===?=", "测试"},                     // too much padding
		{"=?utf-8?B?5YWz5LqO5YW?= =?utf-8?B?z5LqO?=", "关于关于"}, // base64 split mid-quantum
		{"Re: =?utf-8?Q?=E4=BD=A0=E5=A5=BD?=  world", "Re: 你好 world"},
		{"=?utf-8*zh?Q?=E4=BD=A0?=", "你"},
		{"a\r\n\tb", "a b"},
		{"=?iso-8859-1?Q?caf=E9?= =?utf-8?B?5L2g?=", "café你"},
		{"=?bogus?B?YWJj?=", "abc"},
		{"=?unicode-1-1-utf-7?Q?+ANw-bermittlung 1+-1?=", "Übermittlung 1+1"},
	} {
		if got := d.decodeHeader(tc.in); got != tc.want {
			t.Errorf("decodeHeader(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestGuessCJK(t *testing.T) {
	for _, tc := range []struct {
		text string
		enc  charset
	}{
		{"您好，请问这个商品什么时候可以发货？我已经付款了。", csGB18030},
		{"您好，請問這個商品什麼時候可以出貨？我已經付款了。", csBig5},
	} {
		b, err := tc.enc.enc.NewEncoder().Bytes([]byte(tc.text))
		if err != nil {
			t.Fatal(err)
		}
		if got := guessCJK(b); got != tc.enc {
			t.Errorf("guessCJK(%s bytes of %q) = %s", tc.enc.name, tc.text, got.name)
		}
	}
	if got := guessCJK([]byte("caf\xe9 cr\xe8me, M\xfcller")); got != csLatin {
		t.Errorf("Latin-1 text guessed as %s", got.name)
	}
}

func TestParseDate(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"Tue, 3 Mar 2026 10:15:00 +0800", "2026-03-03T02:15:00Z"},
		{"Tue, 3 Mar 2026 10:15:00 +0800 (CST)", "2026-03-03T02:15:00Z"},
		{"3 Mar 2026 10:15:00 GMT+0800", "2026-03-03T02:15:00Z"},
		{"2026-03-03 10:15:00 +0800", "2026-03-03T02:15:00Z"},
		{"Tue Mar  3 10:15:00 2026", "2026-03-03T10:15:00Z"},
	} {
		got, ok := parseDate(tc.in)
		if !ok || got.Format("2006-01-02T15:04:05Z07:00") != tc.want {
			t.Errorf("parseDate(%q) = %v, %v; want %s", tc.in, got, ok, tc.want)
		}
	}
	for _, bad := range []string{"yesterday", "Tue, 3 Mar 0001 10:15:00 +0800"} {
		if _, ok := parseDate(bad); ok {
			t.Errorf("parseDate(%q) succeeded", bad)
		}
	}
}

func TestAutoReplyRules(t *testing.T) {
	for _, tc := range []struct {
		headers string
		want    bool
	}{
		{"Subject: hello", false},
		{"Subject: hello\r\nAuto-Submitted: no", false},
		{"Subject: hello\r\nAuto-Submitted: auto-generated", true},
		{"Subject: hello\r\nX-Autoreply: yes", true},
		{"Subject: hello\r\nX-Autogenerated: Reply", true},
		{"Subject: hello\r\nPrecedence: bulk", true},
		{"Subject: hello\r\nX-Auto-Response-Suppress: All", false},
		{"Subject: hello\r\nX-Auto-Response-Suppress: All\r\nX-MS-Exchange-Inbox-Rules-Loop: a@b.c", true},
		{"Subject: Out of Office: hello", true},
		{"Subject: Abwesenheitsnotiz: Bestellung", true},
		{"Subject: =?utf-8?B?" + "6Ieq5Yqo5Zue5aSNOiDorqLljZU=" + "?=", true}, // 自动回复: 订单
		{"Subject: Vacation: back Monday", true},
		{"Subject: Re: vacation rental order", false},
		{"Subject: =?utf-8?B?5LyR5YGH6YCa55+l?=", true}, // 休假通知
	} {
		m, err := ParseBytes([]byte(tc.headers + "\r\n\r\nbody\r\n"))
		if err != nil {
			t.Fatal(err)
		}
		if m.AutoReply != tc.want {
			t.Errorf("%q: auto_reply = %v, want %v", tc.headers, m.AutoReply, tc.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.eml")
	for _, path := range files {
		raw, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := ParseBytes(raw)
		if err != nil {
			if len(bytes.TrimSpace(raw)) != 0 {
				t.Fatalf("error on non-empty input: %v", err)
			}
			return
		}
		if m.Problems == nil || m.To == nil || m.Cc == nil || m.Attachments == nil || m.References == nil {
			t.Fatal("nil slice in result")
		}
		if _, err := json.Marshal(m); err != nil {
			t.Fatalf("result does not marshal: %v", err)
		}
	})
}

// BenchmarkParse parses a typical customer mail: a few KB of text and HTML
// with a small attachment.
func BenchmarkParse(b *testing.B) {
	raw := benchMessage()
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseBytes(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func benchMessage() []byte {
	var body strings.Builder
	for range 20 {
		body.WriteString("您好，我在贵店购买的商品到现在还没有收到，订单号是 20260303-8899，麻烦帮我查一下物流。\r\n")
	}
	text := body.String()
	html := "<html><body><p>" + strings.ReplaceAll(text, "\r\n", "</p><p>") + "</p></body></html>"
	attachment := bytes.Repeat([]byte("0123456789abcdef"), 256) // 4 KB
	var b bytes.Buffer
	b.WriteString("From: =?utf-8?B?5byg5LiJ?= <zhang@example.cn>\r\nTo: service@shop.example.cn\r\n" +
		"Subject: =?utf-8?B?5YWz5LqO6K6i5Y2V55qE6Zeu6aKY?=\r\nDate: Tue, 3 Mar 2026 10:15:00 +0800\r\n" +
		"Message-ID: <bench@example.cn>\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"m\"\r\n\r\n" +
		"--m\r\nContent-Type: multipart/alternative; boundary=\"a\"\r\n\r\n" +
		"--a\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + text +
		"--a\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + html + "\r\n--a--\r\n" +
		"--m\r\nContent-Type: application/pdf; name=\"=?utf-8?B?5Y+R56WoLnBkZg==?=\"\r\n" +
		"Content-Disposition: attachment\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	b.WriteString(b64Lines(attachment))
	b.WriteString("--m--\r\n")
	return b.Bytes()
}

func b64Lines(data []byte) string {
	enc := make([]byte, (len(data)+2)/3*4)
	base64.StdEncoding.Encode(enc, data)
	var b strings.Builder
	for len(enc) > 76 {
		b.Write(enc[:76])
		b.WriteString("\r\n")
		enc = enc[76:]
	}
	b.Write(enc)
	b.WriteString("\r\n")
	return b.String()
}
