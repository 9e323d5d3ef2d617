package secretstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/ddconn/ddconn/internal/smemu"
	"github.com/ddconn/ddconn/pkg/secretstore"
)

func TestResourcePolicy(t *testing.T) {
	s, _ := newStore(t, smemu.Options{})
	ctx := context.Background()
	if _, err := s.Create(ctx, secretstore.CreateInput{Name: "shared", Value: "v"}); err != nil {
		t.Fatal(err)
	}
	const reader = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}`
	const public = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"secretsmanager:GetSecretValue","Resource":"*"}]}`
	policy := func() string {
		t.Helper()
		p, err := s.Policy(ctx, "shared")
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	steps := []struct {
		name    string
		call    func() error
		wantErr error
		want    string
	}{
		{"none at first", func() error { return nil }, nil, ""},
		{"put", func() error { return s.PutPolicy(ctx, "shared", reader) }, nil, reader},
		{"a public policy is blocked", func() error { return s.PutPolicy(ctx, "shared", public) }, secretstore.ErrInvalid, reader},
		{"delete", func() error { return s.DeletePolicy(ctx, "shared") }, nil, ""},
		{"delete again", func() error { return s.DeletePolicy(ctx, "shared") }, nil, ""},
		{"absent secret", func() error { return s.PutPolicy(ctx, "absent", reader) }, secretstore.ErrNotFound, ""},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			err := st.call()
			if st.wantErr == nil && err != nil || st.wantErr != nil && !errors.Is(err, st.wantErr) {
				t.Fatalf("err = %v, want %v", err, st.wantErr)
			}
			if got := policy(); got != st.want {
				t.Fatalf("policy = %q, want %q", got, st.want)
			}
		})
	}
	if _, err := s.Policy(ctx, "absent"); !errors.Is(err, secretstore.ErrNotFound) {
		t.Fatalf("Policy(absent) = %v, want ErrNotFound", err)
	}
}
