package sla_test

import (
	"testing"
	"time"

	"github.com/kefu-desk/kefu/internal/database/databasetest"
	"github.com/kefu-desk/kefu/internal/sla"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// BenchmarkTicketChange measures what the SLA hook adds to creating a
// ticket and replying to it: "none" has the hook but no policy, "seed-002"
// the seed's four targets on a business calendar.
func BenchmarkTicketChange(b *testing.B) {
	for _, engine := range databasetest.Engines() {
		for _, withPolicy := range []bool{false, true} {
			name := engine + "/none"
			if withPolicy {
				name = engine + "/seed-002"
			}
			b.Run(name, func(b *testing.B) {
				db := databasetest.Open(b, engine)
				e := newEnv(b, db)
				e.clock.Set(wed(9, 0))
				if withPolicy {
					e.policy(b, sla.Policy{Name: "seed 002", CalendarID: e.calendar(b, nanbei()), Definition: sla.Definition{
						Targets: []sla.Target{target(sla.FirstResponse, 10), target(sla.NextReply, 30), target(sla.Solution, 30), target(sla.Resolution, 240)}}})
				}
				b.ResetTimer()
				for i := range b.N {
					e.clock.Set(wed(9, 0).Add(time.Duration(i) * time.Millisecond))
					tk, err := e.tickets.Create(e.ctx, ticket.NewTicket{Subject: "拉链坏了", Channel: "chat",
						Customer: ticket.CustomerRef{Email: "bench@example.cn"}, Message: ticket.NewMessage{Text: "拉链第一天就坏了"}})
					if err != nil {
						b.Fatal(err)
					}
					if _, _, err := e.tickets.AddMessage(e.ctx, tk.ID, ticket.NewMessage{Kind: ticket.Reply, Text: "您好"}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
