package portal_test

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/kefu-desk/kefu/internal/auth"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
	"github.com/kefu-desk/kefu/internal/portal"
)

// unlimited lifts the per-address limits, which a benchmark from one
// address would otherwise hit at once.
func unlimited() portal.Limits {
	l := portal.DefaultLimits
	l.SubmitBurst, l.SignInBurst, l.CodesPerHour, l.FailuresPerHour = 1<<30, 1<<30, 1<<30, 1<<30
	return l
}

// BenchmarkSubmit is one contact-form submission with a photo: the
// customer found by email, the ticket, its message, attachment, SLA
// clocks and the acknowledgement queued, in one transaction.
func BenchmarkSubmit(b *testing.B) {
	for _, engine := range databasetest.Engines() {
		b.Run(engine, func(b *testing.B) {
			h := newHarness(b, databasetest.Open(b, engine))
			h.portal.Limits = unlimited()
			cpu0 := databasetest.CPUTime()
			b.ResetTimer()
			for i := range b.N {
				_, err := h.portal.Submit(h.ctx, portal.Contact{Name: "王芳", Email: fmt.Sprintf("c%d@example.cn", i%200), Category: "repair",
					Description: "肩带脱落，附照片。", Lang: "zh-CN", IP: "198.51.100.7", Photos: []portal.Photo{photo("strap.png", png)}})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(databasetest.CPUTime()-cpu0)/float64(b.N)/1e3, "cpu-µs/op")
		})
	}
}

// BenchmarkSignIn is one sign-in by code at production cost: the code
// requested (hashed with argon2id, the mail queued), read from the queued
// mail, and checked (argon2id again), starting a session.
func BenchmarkSignIn(b *testing.B) {
	code := regexp.MustCompile(`\b(\d{6})\b`)
	for _, engine := range databasetest.Engines() {
		b.Run(engine, func(b *testing.B) {
			h := newHarness(b, databasetest.Open(b, engine))
			h.portal.Limits = unlimited()
			h.portal.Hashes = &auth.Service{Params: auth.DefaultParams}
			h.customer(b, "Anna", "anna@example.com")
			cpu0 := databasetest.CPUTime()
			b.ResetTimer()
			for range b.N {
				ch, err := h.portal.RequestCode(h.ctx, portal.CodeRequest{Address: "anna@example.com", Lang: "en", IP: "192.0.2.1"})
				if err != nil {
					b.Fatal(err)
				}
				var body string
				if err := h.db.Read.QueryRow(`SELECT body_text FROM outbound_mail ORDER BY id DESC LIMIT 1`).Scan(&body); err != nil {
					b.Fatal(err)
				}
				if _, err := h.portal.VerifyCode(h.ctx, portal.Verify{Challenge: ch.ID, Code: code.FindString(body), IP: "192.0.2.1"}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(databasetest.CPUTime()-cpu0)/float64(b.N)/1e3, "cpu-µs/op")
		})
	}
}
