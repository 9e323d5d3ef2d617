package secretkind

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ddconn/ddconn/pkg/secretstore"
)

// SettingsStage labels the version of a connection's secret that holds
// its settings (a Settings document), not its keys. It is a version of the
// connection's own secret, so it lives, is restored and is deleted with
// it, is encrypted with its key, and holds what a 256-character tag
// cannot; it carries no AWS label, so consumers, rotation and the sweeper
// never take it for the connection's keys (KeyVersion).
const SettingsStage = "DDCONN_SETTINGS"

// Settings is the settings document of a connection.
type Settings struct {
	// AllowedServiceAccounts are the service accounts managed keys may be
	// minted for, when they do not fit in TagAllowedServiceAccounts.
	AllowedServiceAccounts []string `json:"allowedServiceAccounts"`
}

// AllowedInSettings is TagAllowedServiceAccounts's value when the list is
// in the settings version (SettingsStage) rather than in the tag.
const AllowedInSettings = "settings"

// KeyVersion reports whether a version with these staging labels holds a
// document of keys: it carries AWSCURRENT, AWSPENDING or AWSPREVIOUS.
func KeyVersion(stages []string) bool {
	return slices.ContainsFunc(stages, func(s string) bool {
		return s == secretstore.Current || s == secretstore.Pending || s == secretstore.Previous
	})
}

// AllowedTag returns TagAllowedServiceAccounts's value for ids: the ids
// themselves when they fit in a tag value, else AllowedInSettings (and
// inSettings true: the list must be written to the settings version).
func AllowedTag(ids []string) (value string, inSettings bool) {
	if joined := strings.Join(ids, " "); len(joined) <= MaxTagValue {
		return joined, false
	}
	return AllowedInSettings, true
}

// settingsReader reads one version of a secret.
type settingsReader interface {
	Get(ctx context.Context, id, versionID, stage string) (secretstore.Version, error)
}

// AllowedServiceAccounts returns the service accounts a connection may
// mint managed keys for, from its tags (the secret secretARN's) or, when
// they say so, from its settings version; limited is false when any
// service account is allowed.
func AllowedServiceAccounts(ctx context.Context, store settingsReader, secretARN string, tags map[string]string) (ids []string, limited bool, err error) {
	v, ok := tags[TagAllowedServiceAccounts]
	switch {
	case !ok:
		return nil, false, nil
	case v != AllowedInSettings:
		return strings.Fields(v), true, nil
	}
	version, err := store.Get(ctx, secretARN, "", SettingsStage)
	if err != nil {
		return nil, true, fmt.Errorf("reading the connection's settings: %w", err)
	}
	var s Settings
	if err := json.Unmarshal([]byte(version.Value), &s); err != nil {
		return nil, true, errors.New("reading the connection's settings: not a settings document")
	}
	return s.AllowedServiceAccounts, true, nil
}

// MarshalSettings encodes a settings document.
func MarshalSettings(s Settings) (string, error) { return marshal("settings", s) }
