package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// ServeCmd runs Kefu for production.
type ServeCmd struct {
	StoreConfig     `embed:""`
	Listen          string        `help:"Address to listen on." default:"127.0.0.1:8080" env:"KEFU_LISTEN"`
	SecureCookies   bool          `help:"Mark cookies Secure (set when served over HTTPS)." env:"KEFU_SECURE_COOKIES"`
	ShutdownTimeout time.Duration `help:"How long in-flight requests may take to finish on SIGTERM." default:"30s" env:"KEFU_SHUTDOWN_TIMEOUT"`
	MailConfig      `embed:""`
	PortalConfig    `embed:""`
	ProxyConfig     `embed:""`
}

// Run serves until ctx is cancelled (SIGTERM or SIGINT).
func (c *ServeCmd) Run(ctx context.Context) error {
	app, err := openApp(ctx, c.StoreConfig, c.SecureCookies)
	if err != nil {
		return err
	}
	defer app.Close()
	if err := app.Mail.configure(c.MailConfig); err != nil {
		return err
	}
	if err := app.configurePortal(c.PortalConfig); err != nil {
		return err
	}
	if app.proxies, err = c.ProxyConfig.prefixes(); err != nil {
		return err
	}
	return serve(ctx, app, c.Listen, c.ShutdownTimeout, nil)
}

// serve listens, announces itself and shuts down gracefully: on a signal it
// stops accepting, lets in-flight requests finish (each runs in its own
// transaction, so nothing is half-written) and then returns.
func serve(ctx context.Context, app *App, addr string, grace time.Duration, ready func(url string)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           app.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	sweepCtx, stopSweep := context.WithCancel(ctx)
	defer stopSweep()
	go app.sweep(sweepCtx, 10*time.Minute)
	// The job runner finishes the jobs in hand before serve returns.
	runnerDone := make(chan error, 1)
	go func() { runnerDone <- app.Runner.Run(sweepCtx) }()
	defer func() {
		stopSweep()
		if err := <-runnerDone; err != nil && !errors.Is(err, context.Canceled) {
			slog.Error("job runner", "err", err)
		}
	}()
	go app.slaSweep(sweepCtx)
	go app.shopSweep(sweepCtx)
	go app.aftersalesSweep(sweepCtx)
	go app.ChatHub.Run(sweepCtx)
	go app.Mail.run(sweepCtx)

	url := "http://" + ln.Addr().String()
	slog.Info("listening", "url", url)
	if ready != nil {
		ready(url)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	slog.Info("shutting down", "grace", grace)
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	slog.Info("stopped")
	return nil
}
