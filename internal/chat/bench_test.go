package chat_test

import (
	"context"
	"testing"
	"time"

	"github.com/kefu-desk/kefu/internal/chat"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// BenchmarkMessageToStream is one visitor message of a live chat: stored
// on its ticket (with every hook Kefu runs: SLA, the outbox, the chat's
// numbered event), committed, and heard by a stream of that chat through
// the hub. An agent reply the same way in the other direction is the
// second sub-benchmark. cpu-µs/op is this process's CPU per message,
// which holds when other work slows the wall clock.
func BenchmarkMessageToStream(b *testing.B) {
	for _, engine := range databasetest.Engines() {
		b.Run(engine, func(b *testing.B) {
			e := newEnv(b, databasetest.Open(b, engine))
			e.online(b, 0)
			hub := chat.NewHub(e.chat)
			defer hub.Close()
			s := e.session(b, chat.SessionInput{})
			first := e.send(b, s.Visitor, chat.Message{Text: "hello", Prechat: prechat("Bench", "bench@example.com")})
			if _, err := e.chat.Accept(e.as(0), first.Conversation.TicketID); err != nil {
				b.Fatal(err)
			}
			l := hub.Listen(first.Conversation.ID, true)
			defer hub.Leave(l)
			b.Run("visitor", func(b *testing.B) {
				cpu0 := databasetest.CPUTime()
				for b.Loop() {
					e.clock.Advance(2 * time.Second) // a person's pace, for the rate limit
					sent := e.send(b, s.Visitor, chat.Message{Text: "还没收到包裹，能帮我查一下吗？"})
					waitHint(b, l, sent.Seq)
				}
				b.ReportMetric(float64(databasetest.CPUTime()-cpu0)/float64(b.N)/1e3, "cpu-µs/op")
			})
			b.Run("agent", func(b *testing.B) {
				cpu0 := databasetest.CPUTime()
				for b.Loop() {
					_, m, err := e.tickets.AddMessage(e.as(0), first.Conversation.TicketID, ticket.NewMessage{Kind: ticket.Reply, Text: "正在为您查询，请稍候。"})
					if err != nil {
						b.Fatal(err)
					}
					var seq int64
					if err := e.db.Read.QueryRowContext(context.Background(), `SELECT seq FROM chat_events WHERE message_id = $1`, m.ID).Scan(&seq); err != nil {
						b.Fatal(err)
					}
					waitHint(b, l, seq)
				}
				b.ReportMetric(float64(databasetest.CPUTime()-cpu0)/float64(b.N)/1e3, "cpu-µs/op")
			})
		})
	}
}
