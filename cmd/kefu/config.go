package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/alecthomas/kong"
)

// tomlLoader reads a TOML file whose keys are flag names, at the top level
// ("db", "listen") or under a table named for the command ([serve]).
// Dashes and underscores are interchangeable.
func tomlLoader(r io.Reader) (kong.Resolver, error) {
	values := map[string]any{}
	if _, err := toml.NewDecoder(r).Decode(&values); err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	flat := map[string]any{}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			key := prefix + strings.ReplaceAll(k, "_", "-")
			if sub, ok := v.(map[string]any); ok {
				walk(key+".", sub)
				continue
			}
			flat[key] = v
		}
	}
	walk("", values)
	return kong.ResolverFunc(func(kctx *kong.Context, parent *kong.Path, flag *kong.Flag) (any, error) {
		// The environment wins over the file; kong would consult the
		// file first.
		for _, env := range flag.Envs {
			if _, set := os.LookupEnv(env); set {
				return nil, nil
			}
		}
		if cmd := kctx.Selected(); cmd != nil {
			if v, ok := flat[cmd.Name+"."+flag.Name]; ok {
				return v, nil
			}
		}
		if v, ok := flat[flag.Name]; ok {
			return v, nil
		}
		return nil, nil
	}), nil
}

// LogConfig sets up structured logging.
type LogConfig struct {
	Level  string `help:"debug, info, warn or error." default:"info" enum:"debug,info,warn,error" env:"KEFU_LOG_LEVEL"`
	Format string `help:"text or json." default:"text" enum:"text,json" env:"KEFU_LOG_FORMAT"`
}

func (c LogConfig) setup() {
	var level slog.Level
	level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(os.Stderr, opts)
	if c.Format == "json" {
		h = slog.NewJSONHandler(os.Stderr, opts)
	}
	slog.SetDefault(slog.New(h))
}
