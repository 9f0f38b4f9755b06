package portal

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"

	"github.com/kefu-desk/kefu/internal/email"
	"github.com/kefu-desk/kefu/internal/jobs"
)

// SMSKind is the job kind of a text message to a customer. Kefu has no
// SMS gateway of its own: the message is recorded in the job queue, in the
// transaction of what causes it, and waits there until a gateway's
// handler for this kind is registered with the runner (a runner claims
// only kinds it has handlers for, so nothing fails meanwhile). The
// payload is an SMS; docs/portal.md describes the contract.
const SMSKind = "sms.send"

// SMS is the payload of an SMSKind job.
type SMS struct {
	To         string `json:"to"`      // the normalised number: digits with a leading + when given
	Text       string `json:"text"`    // the whole message, in the customer's language
	Purpose    string `json:"purpose"` // signin_code, acknowledgement or reply_notice
	Lang       string `json:"lang"`    // en or zh-CN
	CustomerID string `json:"customer_id"`
	TicketID   string `json:"ticket_id,omitempty"`
}

// smsAttempts lets a gateway ride out an outage of about eleven hours, as
// outbound mail does.
const smsAttempts = 20

// sendSMS records m for the gateway in tx; key makes a repeat of the same
// message (a retried transaction) one job.
func (s *Service) sendSMS(ctx context.Context, tx *sql.Tx, key string, m SMS) error {
	_, err := s.Jobs.Enqueue(ctx, tx, jobs.Job{Kind: SMSKind, Key: key, Payload: m, MaxAttempts: smsAttempts})
	return err
}

// texts are the messages Kefu sends customers from the portal and the
// form, in both languages. Mails and text messages are composed here, not
// in the web layer, because they leave without a page around them.
var texts = map[string]map[string]string{
	"en": {
		"code.subject": "Your sign-in code",
		"code.mail": "Your code to sign in and follow your requests: {code}\n\n" +
			"It is good for {minutes} minutes and works once.{link}\n\n" +
			"If you did not ask for it, ignore this mail: nobody can sign in without the code.",
		"code.link": "\nOr open this link to sign in:\n{url}",
		"code.sms":  "Your sign-in code is {code}, good for {minutes} minutes.{link}",
		"sms.link":  " {url}",
		"ack.sms":   "We received your request {key} and will reply soon.{link}",
		"reply.sms": "There is a new reply to your request {key}.{link}",
	},
	"zh-CN": {
		"code.subject": "您的登录验证码",
		"code.mail": "您用于登录并查看请求进度的验证码：{code}\n\n" +
			"{minutes} 分钟内有效，只能使用一次。{link}\n\n" +
			"如果这不是您本人的操作，请忽略此邮件：没有验证码，任何人都无法登录。",
		"code.link": "\n也可以打开以下链接直接登录：\n{url}",
		"code.sms":  "您的登录验证码为 {code}，{minutes} 分钟内有效。{link}",
		"sms.link":  " {url}",
		"ack.sms":   "我们已收到您的请求 {key}，会尽快回复。{link}",
		"reply.sms": "您的请求 {key} 有新回复。{link}",
	},
}

// text fills message id in lang (English when unknown) with vars given as
// name, value pairs.
func text(lang, id string, vars ...string) string {
	m, ok := texts[lang]
	if !ok {
		m = texts["en"]
	}
	pairs := make([]string, 0, len(vars))
	for i := 0; i+1 < len(vars); i += 2 {
		pairs = append(pairs, "{"+vars[i]+"}", vars[i+1])
	}
	return strings.NewReplacer(pairs...).Replace(m[id])
}

// link is the public URL of path, or "" without a configured public URL.
func (s *Service) link(path string, query url.Values) string {
	if s.PublicURL == "" {
		return ""
	}
	u := strings.TrimRight(s.PublicURL, "/") + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	return u
}

// withLink fills a message's {link} slot with the link line id, or
// nothing when there is no link.
func withLink(lang, linkID, u string) string {
	if u == "" {
		return ""
	}
	return text(lang, linkID, "url", u)
}

// mailCode enqueues the sign-in mail of a challenge.
func (s *Service) mailCode(ctx context.Context, tx *sql.Tx, to, lang, code, token string) error {
	minutes := fmt.Sprint(int(s.limits().CodeTTL.Minutes()))
	u := s.link("/portal/link", url.Values{"t": {token}})
	_, err := s.Mail.NotifyCustomer(ctx, tx, email.CustomerNotice{To: to, Subject: text(lang, "code.subject"),
		Text: text(lang, "code.mail", "code", code, "minutes", minutes, "link", withLink(lang, "code.link", u))})
	return err
}
