// Command kefu is the customer-service and after-sales desk: one binary
// that serves the API and console, runs migrations and admin tasks, and
// starts a demo on SQLite with one command.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/alecthomas/kong"
	"github.com/kefu-desk/kefu"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// CLI is every command and flag. Each flag can also be set as a KEFU_*
// environment variable or in the TOML file named by --config.
type CLI struct {
	Config  string     `help:"TOML file with settings (keys are flag names)." env:"KEFU_CONFIG" type:"path" placeholder:"FILE"`
	Log     LogConfig  `embed:"" prefix:"log-"`
	Serve   ServeCmd   `cmd:"" help:"Serve Kefu (production)."`
	Demo    DemoCmd    `cmd:"" help:"Serve Kefu on SQLite with demo data: the quickest way to try it."`
	Migrate MigrateCmd `cmd:"" help:"Bring the database schema up to date."`
	User    UserCmd    `cmd:"" help:"Manage staff accounts."`
	Mail    MailCmd    `cmd:"" help:"Email tools."`
	Backup  BackupCmd  `cmd:"" help:"Write a consistent backup of the database while Kefu runs."`
	Sla     SlaCmd     `cmd:"" help:"What-if tools for business calendars and SLA deadlines."`
	Search  SearchCmd  `cmd:"" help:"Search index tools."`
	Import  ImportCmd  `cmd:"" help:"Import data from files."`
	Shop    ShopCmd    `cmd:"" help:"Manage the shops whose orders Kefu mirrors."`
	Version VersionCmd `cmd:"" help:"Print the version."`
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "kefu:", oneLine(err))
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	var cli CLI
	parser, err := kong.New(&cli,
		kong.Name("kefu"),
		kong.Description("Kefu: customer service and after-sales desk."),
		kong.UsageOnError(),
		kong.Configuration(tomlLoader, configPath(args)...),
		kong.Vars{"version": version},
		kong.BindTo(ctx, (*context.Context)(nil)),
	)
	if err != nil {
		return err
	}
	kctx, err := parser.Parse(args)
	if err != nil {
		return err
	}
	cli.Log.setup()
	return kctx.Run(&cli)
}

// configPath finds --config or KEFU_CONFIG before kong parses, because the
// file supplies defaults for the other flags.
func configPath(args []string) []string {
	for i, a := range args {
		if v, ok := cutFlag(a, "--config"); ok {
			return []string{v}
		}
		if a == "--config" && i+1 < len(args) {
			return []string{args[i+1]}
		}
	}
	if v := os.Getenv("KEFU_CONFIG"); v != "" {
		return []string{v}
	}
	return nil
}

func cutFlag(arg, name string) (string, bool) {
	if len(arg) > len(name)+1 && arg[:len(name)+1] == name+"=" {
		return arg[len(name)+1:], true
	}
	return "", false
}

// oneLine renders an error for the terminal: field errors on the same line.
func oneLine(err error) string {
	var e *kefu.Error
	if errors.As(err, &e) {
		return e.Error()
	}
	return err.Error()
}

// VersionCmd prints the version.
type VersionCmd struct{}

// Run prints the version.
func (VersionCmd) Run() error {
	fmt.Println("kefu", version)
	return nil
}
