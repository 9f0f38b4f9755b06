package web

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/kefu-desk/kefu/internal/ticket"
)

// streamURL is the page's live stream; a ticket page also hears about
// that ticket's viewers.
func streamURL(ticketID string) string {
	if ticketID == "" {
		return "/events"
	}
	return "/events?" + url.Values{"ticket": {ticketID}}.Encode()
}

type presenceKey struct{}

// presenceOfMe is the signed-in staff member's chosen presence.
func presenceOfMe(ctx context.Context) string {
	if st, ok := ctx.Value(presenceKey{}).(string); ok && st != "" {
		return st
	}
	return Online
}

func noticeRole(kind string) string {
	if kind == "error" {
		return "alert"
	}
	return "status"
}

// initials for an avatar-less person: the first letter, or the first
// character of a Chinese name.
func initials(name string) string {
	name = strings.TrimSpace(name)
	for _, r := range name {
		return strings.ToUpper(string(r))
	}
	return "?"
}

func statusLabel(ctx context.Context, st ticket.Status) string { return T(ctx, "status."+string(st)) }

func priorityLabel(ctx context.Context, p ticket.Priority) string {
	return T(ctx, "priority."+string(p))
}

func channelLabel(ctx context.Context, c string) string { return T(ctx, "channel."+c) }

// nextPageURL is the queue page after this one.
func nextPageURL(d queueData) string {
	q, _ := url.ParseQuery(d.View.Query)
	if d.View.ID != "custom" {
		q = url.Values{}
	}
	q.Set("cursor", d.Page.NextCursor)
	return "/queue/" + d.View.ID + "?" + q.Encode()
}

// utc formats t for the datetime attribute; app.js shows it in the
// reader's time zone.
func utc(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func shortTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04") + " UTC" }
