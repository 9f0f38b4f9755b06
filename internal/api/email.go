package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/email"
)

// emailRoutes are the email channel's: mailboxes and the deny list
// (admin), the inbound and outbound logs (admin), mail from relays
// (tickets:write) and the original of a received message.
func (s *Server) emailRoutes() {
	const admin, ticketsR, ticketsW = "admin", "tickets:read", "tickets:write"
	get, post, put, del := http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete
	op(s, get, "/mailboxes", "list-mailboxes", "Mailboxes Kefu receives and sends mail for (passwords hidden)", admin, s.listMailboxes)
	op(s, post, "/mailboxes", "create-mailbox", "Add a mailbox; its passwords are stored in the database", admin, s.createMailbox, 201)
	op(s, get, "/mailboxes/{id}", "get-mailbox", "Get a mailbox", admin, s.getMailbox)
	op(s, put, "/mailboxes/{id}", "replace-mailbox", "Replace a mailbox's settings; a password of ******** keeps the stored one", admin, s.replaceMailbox)
	op(s, del, "/mailboxes/{id}", "delete-mailbox", "Remove a mailbox", admin, s.deleteMailbox, 204)
	op(s, post, "/mailboxes/{id}/test", "test-mailbox", "Try the IMAP login and the SMTP EHLO/authentication; reports each", admin, s.testMailbox)
	op(s, get, "/mail-denylist", "list-mail-denylist", "Senders whose mail is kept but opens no ticket", admin, s.listDenylist)
	op(s, post, "/mail-denylist", "add-mail-denylist", "Deny an address or a domain", admin, s.addDenylist, 201)
	op(s, del, "/mail-denylist/{pattern}", "remove-mail-denylist", "Remove a deny list entry", admin, s.removeDenylist, 204)
	op(s, get, "/inbound", "list-inbound", "Mail received, newest first, with what became of each", admin, s.listInbound)
	op(s, get, "/inbound/{id}/raw", "get-inbound-raw", "The original of a received mail (RFC 5322)", admin, s.inboundRaw)
	op(s, get, "/messages/{id}/raw", "get-message-raw", "The original mail a ticket message came from (RFC 5322)", ticketsR, s.messageRaw)
	op(s, get, "/outbound", "list-outbound", "Mail sent or being sent, newest first; state=failed lists failed deliveries", admin, s.listOutbound)
	op(s, post, "/outbound/{id}/retry", "retry-outbound", "Send a failed mail again", admin, s.retryOutbound)

	// Raw mail is not JSON and may be large, so this one is registered
	// with its own body limit; otherwise it is what op registers.
	o := huma.Operation{OperationID: "receive-email", Method: post, Path: "/inbound/email", Tags: []string{"inbound"},
		Summary:       "Receive a raw RFC 5322 message (Content-Type: message/rfc822) from a relay",
		DefaultStatus: 201, MaxBodyBytes: email.DefaultMax, Errors: documentedErrors(post, "/inbound/email", ticketsW),
		Security: []map[string][]string{{"token": {ticketsW}}, {"session": {}}}, Metadata: map[string]any{"scope": ticketsW},
		RequestBody: &huma.RequestBody{Required: true, Description: "The message exactly as received",
			Content: map[string]*huma.MediaType{"message/rfc822": {Schema: &huma.Schema{Type: "string"}}}}}
	huma.Register(s.api, o, func(ctx context.Context, in *receiveEmailIn) (*receivedOut, error) {
		out, err := s.receiveEmail(ctx, in)
		if err != nil {
			return nil, problem(ctx, err)
		}
		return out, nil
	})
}

type mailboxOut struct {
	ETag string `header:"ETag"`
	Body email.Mailbox
}

func mailboxResult(m *email.Mailbox, err error) (*mailboxOut, error) {
	if err != nil {
		return nil, err
	}
	return &mailboxOut{ETag: etag(m.Version), Body: m.Redacted()}, nil
}

type mailboxBody struct {
	Address     string             `json:"address"`
	DisplayName string             `json:"display_name,omitempty"`
	IsDefault   bool               `json:"is_default,omitempty"`
	Enabled     *bool              `json:"enabled,omitempty" doc:"Default true"`
	IMAP        email.IMAPSettings `json:"imap,omitempty"`
	SMTP        email.SMTPSettings `json:"smtp,omitempty"`
	Signature   string             `json:"signature,omitempty"`
	AckZh       string             `json:"ack_zh,omitempty" doc:"Acknowledgement in Chinese; {{key}}, {{subject}}, {{name}} are replaced; empty sends none"`
	AckEn       string             `json:"ack_en,omitempty"`
}

func (b mailboxBody) mailbox() email.Mailbox {
	return email.Mailbox{Address: b.Address, DisplayName: b.DisplayName, IsDefault: b.IsDefault, Enabled: b.Enabled == nil || *b.Enabled,
		IMAP: b.IMAP, SMTP: b.SMTP, Signature: b.Signature, AckZh: b.AckZh, AckEn: b.AckEn}
}

func (s *Server) listMailboxes(ctx context.Context, _ *struct{}) (*struct{ Body []email.Mailbox }, error) {
	list, err := s.Mailboxes.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]email.Mailbox, len(list))
	for i, m := range list {
		out[i] = m.Redacted()
	}
	return &struct{ Body []email.Mailbox }{out}, nil
}

func (s *Server) createMailbox(ctx context.Context, in *struct{ Body mailboxBody }) (*mailboxOut, error) {
	return mailboxResult(s.Mailboxes.Create(ctx, in.Body.mailbox()))
}

func (s *Server) getMailbox(ctx context.Context, in *idPath) (*mailboxOut, error) {
	if err := adminOnly(ctx); err != nil {
		return nil, err
	}
	return mailboxResult(s.Mailboxes.Get(ctx, in.ID))
}

type replaceMailboxIn struct {
	ID      string `path:"id"`
	IfMatch string `header:"If-Match" doc:"The ETag of the version being replaced"`
	Body    mailboxBody
}

func (s *Server) replaceMailbox(ctx context.Context, in *replaceMailboxIn) (*mailboxOut, error) {
	v, err := ifMatch(in.IfMatch)
	if err != nil {
		return nil, err
	}
	return mailboxResult(s.Mailboxes.Update(ctx, in.ID, v, in.Body.mailbox()))
}

func (s *Server) deleteMailbox(ctx context.Context, in *idPath) (*struct{}, error) {
	return nil, s.Mailboxes.Delete(ctx, in.ID)
}

func (s *Server) testMailbox(ctx context.Context, in *idPath) (*struct{ Body email.Check }, error) {
	if err := adminOnly(ctx); err != nil {
		return nil, err
	}
	mb, err := s.Mailboxes.Get(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return &struct{ Body email.Check }{email.CheckMailbox(ctx, mb, s.IMAPDial, 20*time.Second)}, nil
}

// adminOnly guards reads that reveal configuration.
func adminOnly(ctx context.Context) error {
	a := kefu.ActorFrom(ctx)
	if !a.CanAdmin() {
		return kefu.Errorf(kefu.Forbidden, "only administrators may see mail configuration")
	}
	return nil
}

func (s *Server) listDenylist(ctx context.Context, _ *struct{}) (*struct{ Body []email.DenyEntry }, error) {
	if err := adminOnly(ctx); err != nil {
		return nil, err
	}
	list, err := s.Mailboxes.DenyList(ctx)
	if err != nil {
		return nil, err
	}
	return &struct{ Body []email.DenyEntry }{list}, nil
}

func (s *Server) addDenylist(ctx context.Context, in *struct {
	Body struct {
		Pattern string `json:"pattern" doc:"An address (a@example.com) or a domain (example.com)"`
		Note    string `json:"note,omitempty"`
	}
}) (*struct{ Body *email.DenyEntry }, error) {
	d, err := s.Mailboxes.Deny(ctx, email.DenyEntry{Pattern: in.Body.Pattern, Note: in.Body.Note})
	if err != nil {
		return nil, err
	}
	return &struct{ Body *email.DenyEntry }{d}, nil
}

func (s *Server) removeDenylist(ctx context.Context, in *struct {
	Pattern string `path:"pattern"`
}) (*struct{}, error) {
	return nil, s.Mailboxes.Allow(ctx, in.Pattern)
}

type listInboundIn struct {
	Mailbox string `query:"mailbox" doc:"Mailbox id"`
	Outcome string `query:"outcome" enum:"new_ticket,message,reopened,follow_up,bounce,auto_reply,blocked,denied,duplicate,"`
	Ticket  string `query:"ticket" doc:"Ticket id"`
	Before  string `query:"before" doc:"id of the last entry of the previous page"`
	Limit   int    `query:"limit" minimum:"1" maximum:"200" default:"50"`
}

func (s *Server) listInbound(ctx context.Context, in *listInboundIn) (*struct{ Body []*email.Received }, error) {
	list, err := s.Inbound.List(ctx, email.InboundFilter{MailboxID: in.Mailbox, Outcome: in.Outcome, TicketID: in.Ticket, Before: in.Before, Limit: in.Limit})
	if err != nil {
		return nil, inQuery(err)
	}
	return &struct{ Body []*email.Received }{list}, nil
}

func rawMail(name string, size int64, f io.ReadCloser) *huma.StreamResponse {
	return &huma.StreamResponse{Body: func(hc huma.Context) {
		defer f.Close()
		hc.SetHeader("Content-Type", "message/rfc822")
		hc.SetHeader("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.eml"`, name))
		hc.SetHeader("Content-Length", fmt.Sprint(size))
		hc.SetHeader("X-Content-Type-Options", "nosniff")
		io.Copy(hc.BodyWriter(), f)
	}}
}

func (s *Server) inboundRaw(ctx context.Context, in *idPath) (*huma.StreamResponse, error) {
	r, f, err := s.Inbound.OpenRaw(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return rawMail(r.ID, r.RawSize, f), nil
}

func (s *Server) messageRaw(ctx context.Context, in *idPath) (*huma.StreamResponse, error) {
	size, f, err := s.Inbound.OpenMessageRaw(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return rawMail(in.ID, size, f), nil
}

type listOutboundIn struct {
	State  string `query:"state" enum:"pending,sent,failed,"`
	Before string `query:"before" doc:"id of the last entry of the previous page"`
	Limit  int    `query:"limit" minimum:"1" maximum:"200" default:"50"`
}

func (s *Server) listOutbound(ctx context.Context, in *listOutboundIn) (*struct{ Body []*email.Sent }, error) {
	list, err := s.Outbound.List(ctx, in.State, in.Before, in.Limit)
	if err != nil {
		return nil, inQuery(err)
	}
	return &struct{ Body []*email.Sent }{list}, nil
}

func (s *Server) retryOutbound(ctx context.Context, in *idPath) (*struct{ Body *email.Sent }, error) {
	m, err := s.Outbound.Retry(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return &struct{ Body *email.Sent }{m}, nil
}

// receiveEmailIn takes the body as a stream: the inbound service spools
// it to the blob store, so a large mail is never held in memory here.
type receiveEmailIn struct {
	body io.Reader
}

func (in *receiveEmailIn) Resolve(hc huma.Context) []error {
	in.body = hc.BodyReader()
	return nil
}

type receivedOut struct{ Body *email.Received }

func (s *Server) receiveEmail(ctx context.Context, in *receiveEmailIn) (*receivedOut, error) {
	r, err := s.Inbound.Receive(ctx, email.Delivery{Source: "api"}, in.body)
	if err != nil {
		return nil, err
	}
	return &receivedOut{Body: r}, nil
}
