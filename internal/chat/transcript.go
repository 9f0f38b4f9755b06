package chat

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/customer"
	"github.com/kefu-desk/kefu/internal/email"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// transcriptText holds the few words of a transcript mail in the two
// languages of the widget.
var transcriptText = map[string]struct {
	Subject, Intro, You, Agent, Attachment string
}{
	"en": {
		Subject:    "Your chat with us [%s]",
		Intro:      "Here is the transcript of your chat (reference %s). Times are %s.",
		You:        "You",
		Agent:      "Support",
		Attachment: "attachment",
	},
	"zh-CN": {
		Subject:    "您的在线咨询记录 [%s]",
		Intro:      "以下是您的在线咨询记录（编号 %s），时间为 %s 时间。",
		You:        "您",
		Agent:      "客服",
		Attachment: "附件",
	},
}

// Transcript mails the visitor their conversation, in lang, through the
// email channel's outbox, to the address they gave (or, if to is given,
// to it when it is one of theirs). A few per hour at most.
func (s *Service) Transcript(ctx context.Context, v *Visitor, to, lang string) error {
	if s.Mail == nil {
		return kefu.Errorf(kefu.Unavailable, "this shop does not send email")
	}
	conv, err := s.conversationOf(ctx, v.ID)
	if err != nil {
		return err
	}
	if conv == nil {
		return kefu.Errorf(kefu.NotFound, "there is no chat to send yet")
	}
	sys := kefu.WithActor(ctx, visitorActor)
	t, err := s.Tickets.Get(sys, conv.TicketID)
	if err != nil {
		return err
	}
	addr, err := s.transcriptAddress(sys, t.CustomerID, v, strings.TrimSpace(to))
	if err != nil {
		return err
	}
	if !s.lim().transcript.allow(conv.ID, s.Now()) {
		return tooFast("transcripts")
	}
	tx, ok := transcriptText[lang]
	if !ok {
		lang, tx = "en", transcriptText["en"]
	}
	text, err := s.transcript(sys, conv, lang)
	if err != nil {
		return err
	}
	err = s.DB.InTx(ctx, func(dbtx *sql.Tx) error {
		_, err := s.Mail.NotifyCustomer(sys, dbtx, email.CustomerNotice{To: addr, Subject: fmt.Sprintf(tx.Subject, t.Key), Text: text, TicketID: t.ID})
		return err
	})
	if kefu.IsCode(err, kefu.NotFound) {
		return kefu.Errorf(kefu.Unavailable, "this shop does not send email")
	}
	return err
}

// transcriptAddress is where a transcript may go: one of the customer's
// own addresses, never one typed in for the purpose, so the widget cannot
// be used to mail strangers.
func (s *Service) transcriptAddress(ctx context.Context, customerID string, v *Visitor, to string) (string, error) {
	c, err := s.Customers.Get(ctx, customerID)
	if err != nil {
		return "", err
	}
	var mine []string
	for _, id := range c.Identities {
		if id.Kind == customer.Email {
			mine = append(mine, id.Value)
		}
	}
	if to == "" {
		switch {
		case v.Email != "":
			to = v.Email
		case len(mine) > 0:
			to = mine[0]
		default:
			return "", kefu.Fieldf("email", "we have no email address for you; give one when you start a chat")
		}
	}
	want, _ := customer.Normalize(customer.Email, to)
	for _, m := range mine {
		if n, _ := customer.Normalize(customer.Email, m); n == want {
			return m, nil
		}
	}
	return "", kefu.Fieldf("email", "a transcript can only go to the address you chatted with")
}

// transcript renders the public messages of a conversation as text.
func (s *Service) transcript(ctx context.Context, conv *Conversation, lang string) (string, error) {
	words := transcriptText[lang]
	loc := s.location(ctx)
	var b strings.Builder
	fmt.Fprintf(&b, words.Intro+"\n\n", conv.TicketKey, loc.String())
	var after int64
	for {
		evs, err := s.events(ctx, conv.ID, after, true, 500)
		if err != nil {
			return "", err
		}
		for _, e := range evs {
			after = e.Seq
			if e.Kind != KindMessage || e.Message == nil {
				continue
			}
			m := e.Message
			who := words.You
			if m.Kind == ticket.Reply {
				who = words.Agent
				if e.Author != "" {
					who = e.Author
				}
			}
			fmt.Fprintf(&b, "[%s] %s:\n", m.CreatedAt.In(loc).Format("2006-01-02 15:04"), who)
			if strings.TrimSpace(m.Text) != "" {
				b.WriteString(strings.TrimSpace(m.Text))
				b.WriteString("\n")
			}
			for _, a := range m.Attachments {
				fmt.Fprintf(&b, "(%s: %s)\n", words.Attachment, a.Filename)
			}
			b.WriteString("\n")
		}
		if len(evs) < 500 {
			return b.String(), nil
		}
	}
}
