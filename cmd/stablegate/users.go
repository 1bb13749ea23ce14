package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/stablegate/stablegate/internal/gateway"
)

const usersUsage = `Usage:
  stablegate users create --email E --project ID [--role owner|admin|developer|viewer] [--password-stdin]
      a dashboard account, a member of the project; without --password-stdin a one-time password is
      printed, which the first sign-in replaces
  stablegate users reset-two-factor --email E
      turns the person's two-factor authentication off (a lost phone and lost recovery codes) and
      signs them out everywhere: an owner or admin enrols again at the next sign-in
`

func runUsers(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "reset-two-factor" {
		return runUsersResetTwoFactor(ctx, args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "create" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprint(stdout, usersUsage)
			return nil
		}
		fmt.Fprint(stderr, usersUsage)
		return usageError{"users needs a subcommand: create or reset-two-factor"}
	}
	fs := newFlagSet("users create", "users create --email E --project ID [--role owner] [--password-stdin]", stderr)
	cf := newConfigFlags(fs, false, nil)
	email := fs.String("email", "", "the person's email: what they sign in with")
	project := fs.String("project", "", "the project they belong to")
	role := fs.String("role", "owner", "owner (everything), admin (all but the team), developer (keys, webhooks, reading) or viewer (reading)")
	fromStdin := fs.Bool("password-stdin", false, "read the password (at least 12 characters) from the first line of standard input")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if *email == "" || *project == "" {
		fs.Usage()
		return usageError{"--email and --project are required"}
	}
	r, verr := gateway.ParseRole(*role)
	if verr != nil {
		return usageError{verr.Message}
	}
	var password string
	if *fromStdin {
		line, err := bufio.NewReader(io.LimitReader(os.Stdin, gateway.MaxPasswordBytes+2)).ReadString('\n')
		if err != nil && err != io.EOF {
			return fmt.Errorf("read the password: %w", err)
		}
		if password = strings.TrimRight(line, "\r\n"); password == "" {
			return usageError{"--password-stdin: standard input has no password"}
		}
	}
	c, err := cf.load()
	if err != nil {
		return err
	}
	st, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer st.Close()
	u, generated, err := (&gateway.Service{Store: st}).CreateUser(ctx, *email, password, *project, r)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Created %s (%s), %s of %s.\n", u.Email, u.ID, r, *project)
	if generated != "" {
		fmt.Fprintf(stdout, "One-time password (shown once; the first sign-in replaces it): %s\n", generated)
	}
	fmt.Fprintln(stdout, "Sign in at <public URL>/dashboard/ on a gateway that serves it (dashboard: true in serve; always in dev).")
	return nil
}

func runUsersResetTwoFactor(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("users reset-two-factor", "users reset-two-factor --email E", stderr)
	cf := newConfigFlags(fs, false, nil)
	email := fs.String("email", "", "the person's email")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *email == "" {
		fs.Usage()
		return usageError{"--email is required"}
	}
	c, err := cf.load()
	if err != nil {
		return err
	}
	st, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer st.Close()
	u, err := (&gateway.Service{Store: st}).ResetTwoFactor(gateway.WithActor(ctx, gateway.Operator()), *email)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Two-factor authentication of %s (%s) is off; their sessions ended. They enrol again at the next sign-in if their role asks for it.\n", u.Email, u.ID)
	return nil
}
