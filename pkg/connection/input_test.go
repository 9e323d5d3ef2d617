package connection

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ddconn/ddconn/internal/testkit"
)

const (
	testAPIKey = "0123456789abcdef0123456789abcdef"
	testAppKey = "abcdefghij0123456789abcdefghij0123456789"
)

func goodCreds() *CredentialsInput {
	return &CredentialsInput{URL: "us5.datadoghq.com", APIKey: testAPIKey, ApplicationKey: testAppKey}
}

// fields returns the field names of an ErrInvalid error.
func fields(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var ce *Error
	if !errors.As(err, &ce) || !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v, want an ErrInvalid *Error", err)
	}
	var out []string
	for _, d := range ce.Details {
		out = append(out, d.Field)
	}
	return out
}

func TestCreateInputValidate(t *testing.T) {
	tests := []struct {
		name string
		in   CreateInput
		want []string // bad fields, in order
	}{
		{"valid", CreateInput{Name: "prod-us5", Credentials: goodCreds()}, nil},
		{"valid one char", CreateInput{Name: "a", Method: methodAPIKey, Credentials: goodCreds()}, nil},
		{"valid 64 chars", CreateInput{Name: strings.Repeat("a", 64), Credentials: goodCreds()}, nil},
		{"name too long", CreateInput{Name: strings.Repeat("a", 65), Credentials: goodCreds()}, []string{"name"}},
		{"empty name", CreateInput{Credentials: goodCreds()}, []string{"name"}},
		{"upper case", CreateInput{Name: "Prod", Credentials: goodCreds()}, []string{"name"}},
		{"leading dash", CreateInput{Name: "-prod", Credentials: goodCreds()}, []string{"name"}},
		{"trailing dash", CreateInput{Name: "prod-", Credentials: goodCreds()}, []string{"name"}},
		{"slash", CreateInput{Name: "a/b", Credentials: goodCreds()}, []string{"name"}},
		{"underscore", CreateInput{Name: "a_b", Credentials: goodCreds()}, []string{"name"}},
		{"description 256", CreateInput{Name: "a", Description: strings.Repeat("é", 256), Credentials: goodCreds()}, nil},
		{"description 257", CreateInput{Name: "a", Description: strings.Repeat("é", 257), Credentials: goodCreds()}, []string{"description"}},
		{"other method", CreateInput{Name: "a", Method: "oauth", Credentials: goodCreds()}, []string{"method"}},
		{"no credentials", CreateInput{Name: "a"}, []string{"credentials"}},
		{"empty credentials", CreateInput{Name: "a", Credentials: &CredentialsInput{}},
			[]string{"credentials.url", "credentials.apiKey", "credentials.applicationKey"}},
		{"short api key", CreateInput{Name: "a", Credentials: &CredentialsInput{URL: "datadoghq.eu", APIKey: "abc", ApplicationKey: testAppKey}},
			[]string{"credentials.apiKey"}},
		{"non-hex api key", CreateInput{Name: "a", Credentials: &CredentialsInput{URL: "datadoghq.eu", APIKey: strings.Repeat("z", 32), ApplicationKey: testAppKey}},
			[]string{"credentials.apiKey"}},
		{"app key with symbol", CreateInput{Name: "a", Credentials: &CredentialsInput{URL: "datadoghq.eu", APIKey: testAPIKey, ApplicationKey: strings.Repeat("a", 39) + "!"}},
			[]string{"credentials.applicationKey"}},
		{"hostile url", CreateInput{Name: "a", Credentials: &CredentialsInput{URL: "https://evil.example", APIKey: testAPIKey, ApplicationKey: testAppKey}},
			[]string{"credentials.url"}},
		{"everything wrong", CreateInput{Name: "A", Description: strings.Repeat("x", 300), Method: "x", Credentials: &CredentialsInput{URL: "http://api.datadoghq.com"}},
			[]string{"name", "description", "method", "credentials.url", "credentials.apiKey", "credentials.applicationKey"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.in.validate()
			if got := fields(t, err); !slices.Equal(got, tt.want) {
				t.Fatalf("bad fields = %v, want %v (err %v)", got, tt.want, err)
			}
		})
	}
}

func TestCreateInputNormalises(t *testing.T) {
	in := CreateInput{Name: "a", Credentials: &CredentialsInput{URL: "https://app.datadoghq.eu/", APIKey: " " + testAPIKey + "\n", ApplicationKey: testAppKey}}
	v, err := in.validate()
	if err != nil {
		t.Fatal(err)
	}
	if v.creds.Site.Name != "EU" || v.creds.APIKey != testAPIKey || v.creds.Site.URL() != "https://api.datadoghq.eu" {
		t.Fatalf("normalised credentials: site %s url %s, api key trimmed %v", v.creds.Site.Name, v.creds.Site.URL(), v.creds.APIKey == testAPIKey)
	}
}

func TestUpdateInputValidate(t *testing.T) {
	str := func(s string) *string { return &s }
	tests := []struct {
		name    string
		in      UpdateInput
		want    []string
		wantErr bool
	}{
		{"description", UpdateInput{Description: str("new")}, nil, false},
		{"credentials", UpdateInput{Credentials: goodCreds()}, nil, false},
		{"same name", UpdateInput{Name: str("prod"), Description: str("x")}, nil, false},
		{"rename", UpdateInput{Name: str("other"), Description: str("x")}, []string{"name"}, true},
		{"nothing", UpdateInput{}, nil, true},
		{"only the name", UpdateInput{Name: str("prod")}, nil, true},
		{"only a new name", UpdateInput{Name: str("other")}, []string{"name"}, true},
		{"bad credentials", UpdateInput{Credentials: &CredentialsInput{URL: "localhost"}},
			[]string{"credentials.url", "credentials.apiKey", "credentials.applicationKey"}, true},
		{"allowed service accounts", UpdateInput{AllowedServiceAccounts: ids(uuid(1), uuid(2))}, nil, false},
		{"clear allowed service accounts", UpdateInput{AllowedServiceAccounts: ids()}, nil, false},
		{"six, one repeated in upper case", UpdateInput{AllowedServiceAccounts: ids(uuid(1), uuid(2), uuid(3), uuid(4), uuid(5), uuid(6), strings.ToUpper(uuid(6)))}, nil, false},
		{"as many allowed service accounts as allowed", UpdateInput{AllowedServiceAccounts: manyIDs(maxAllowedServiceAccounts)}, nil, false},
		{"one allowed service account too many", UpdateInput{AllowedServiceAccounts: manyIDs(maxAllowedServiceAccounts + 1)},
			[]string{"allowedServiceAccounts"}, true},
		{"allowed service account not a uuid", UpdateInput{AllowedServiceAccounts: ids(uuid(1), "checkout", "")},
			[]string{"allowedServiceAccounts[1]", "allowedServiceAccounts[2]"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.in.validate("prod")
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if got := fields(t, err); !slices.Equal(got, tt.want) {
				t.Fatalf("bad fields = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestInputErrorsNeverRepeatKeys(t *testing.T) {
	// Keys of the right length but wrong alphabet are rejected; the
	// messages must not quote them.
	apiKey, appKey := strings.Repeat("q", 32), strings.Repeat("#", 40)
	in := CreateInput{Name: "a", Credentials: &CredentialsInput{URL: "https://" + apiKey + "@api.datadoghq.com", APIKey: apiKey, ApplicationKey: appKey}}
	_, err := in.validate()
	if err == nil {
		t.Fatal("want an error")
	}
	msg := err.Error() + fmt.Sprintf("%v %+v %#v", in, in, *in.Credentials)
	testkit.AssertNoKeyMaterial(t, msg, apiKey, appKey)
}

// ids is an AllowedServiceAccounts value.
func ids(s ...string) *[]string {
	out := append([]string{}, s...)
	return &out
}

// uuid is the n-th (1–9) fake service account id.
func uuid(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-00000000000%d", n) }

// TestAllowedServiceAccountsNormalised checks that ids are stored
// lower-cased (Datadog's form, which minting compares with) and once.
func TestAllowedServiceAccountsNormalised(t *testing.T) {
	up := strings.ToUpper("0000000a-0000-4000-8000-00000000000b")
	v, err := UpdateInput{AllowedServiceAccounts: ids(up, "0000000a-0000-4000-8000-00000000000b")}.validate("prod")
	if err != nil {
		t.Fatal(err)
	}
	if v.allowed == nil || !slices.Equal(*v.allowed, []string{"0000000a-0000-4000-8000-00000000000b"}) {
		t.Fatalf("allowed = %v", v.allowed)
	}
}

// manyIDs is a pointer to n distinct service account ids.
func manyIDs(n int) *[]string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
	}
	return &out
}
