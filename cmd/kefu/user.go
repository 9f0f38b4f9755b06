package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/team"
)

// UserCmd manages staff accounts from the command line, for the first
// admin and for recovery when nobody can sign in.
type UserCmd struct {
	Create  UserCreateCmd  `cmd:"" help:"Create a staff account."`
	Passwd  UserPasswdCmd  `cmd:"" help:"Set a staff member's password (read from stdin)."`
	Disable UserDisableCmd `cmd:"" help:"Disable a staff account."`
	Enable  UserEnableCmd  `cmd:"" help:"Enable a staff account."`
}

// UserCreateCmd creates an account.
type UserCreateCmd struct {
	StoreConfig `embed:""`
	Email       string   `arg:"" help:"Sign-in email."`
	Name        string   `help:"Display name." required:""`
	Role        string   `help:"admin, supervisor, agent, staff or auditor." default:"agent" enum:"admin,supervisor,agent,staff,auditor"`
	Language    string   `help:"en or zh-CN." default:"en" enum:"en,zh-CN"`
	Departments []string `help:"Department slugs." sep:","`
	Password    bool     `help:"Read a password from stdin (one line)."`
}

// Run creates the account.
func (c *UserCreateCmd) Run(ctx context.Context) error {
	app, err := openApp(ctx, c.StoreConfig, false)
	if err != nil {
		return err
	}
	defer app.Close()
	var pw string
	if c.Password {
		if pw, err = readPassword(os.Stdin); err != nil {
			return err
		}
	}
	st, err := app.Team.CreateStaff(kefu.WithActor(ctx, kefu.System), newStaff(c, pw))
	if err != nil {
		return err
	}
	fmt.Printf("created %s %s (%s) id %s\n", st.Role, st.Email, st.Name, st.ID)
	return nil
}

// UserPasswdCmd sets a password.
type UserPasswdCmd struct {
	StoreConfig `embed:""`
	Email       string `arg:"" help:"Sign-in email."`
}

// Run reads the new password from stdin and sets it.
func (c *UserPasswdCmd) Run(ctx context.Context) error {
	return withStaff(ctx, c.StoreConfig, c.Email, func(app *App, id string) error {
		pw, err := readPassword(os.Stdin)
		if err != nil {
			return err
		}
		if err := app.Team.SetPassword(kefu.WithActor(ctx, kefu.System), id, pw); err != nil {
			return err
		}
		fmt.Println("password set for", c.Email)
		return nil
	})
}

// UserDisableCmd disables an account.
type UserDisableCmd struct {
	StoreConfig `embed:""`
	Email       string `arg:"" help:"Sign-in email."`
	Reason      string `help:"Why, for the audit trail." default:"disabled from the command line"`
}

// Run disables the account.
func (c *UserDisableCmd) Run(ctx context.Context) error {
	return withStaff(ctx, c.StoreConfig, c.Email, func(app *App, id string) error {
		if _, err := app.Team.Disable(kefu.WithActor(ctx, kefu.System), id, c.Reason); err != nil {
			return err
		}
		fmt.Println("disabled", c.Email)
		return nil
	})
}

// UserEnableCmd enables an account.
type UserEnableCmd struct {
	StoreConfig `embed:""`
	Email       string `arg:"" help:"Sign-in email."`
}

// Run enables the account.
func (c *UserEnableCmd) Run(ctx context.Context) error {
	return withStaff(ctx, c.StoreConfig, c.Email, func(app *App, id string) error {
		if _, err := app.Team.Enable(kefu.WithActor(ctx, kefu.System), id); err != nil {
			return err
		}
		fmt.Println("enabled", c.Email)
		return nil
	})
}

func withStaff(ctx context.Context, cfg StoreConfig, email string, fn func(app *App, id string) error) error {
	app, err := openApp(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer app.Close()
	st, err := app.Team.StaffByEmail(kefu.WithActor(ctx, kefu.System), email)
	if err != nil {
		return err
	}
	return fn(app, st.ID)
}

// readPassword takes the first line of r, so scripts can pipe it in and
// it never appears in the process list.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("no password on stdin")
	}
	return pw, nil
}

func newStaff(c *UserCreateCmd, password string) team.NewStaff {
	return team.NewStaff{Email: c.Email, Name: c.Name, Role: kefu.Role(c.Role), Language: c.Language, Departments: c.Departments, Password: password}
}
