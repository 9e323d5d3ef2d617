package smemu

import (
	"regexp"
	"strings"
)

// arnSuffixPattern matches the "-XXXXXX" Secrets Manager appends to a name
// in an ARN. A SecretId ending like this is read as a full ARN, which is why
// a partial ARN fails for names that themselves end in "-" and six characters.
var arnSuffixPattern = regexp.MustCompile(`-[A-Za-z0-9]{6}$`)

func (e *Emulator) arnPrefix() string {
	return "arn:aws:secretsmanager:" + e.opts.Region + ":" + e.opts.AccountID + ":secret:"
}

// newARN returns a fresh ARN for name, with a random suffix unused so far.
func (e *Emulator) newARN(name string) string {
	for {
		arn := e.arnPrefix() + name + "-" + randomSuffix()
		if _, taken := e.secrets[arn]; !taken {
			return arn
		}
	}
}

// byName returns the secret called name, live or scheduled for deletion.
func (e *Emulator) byName(name string) *secret {
	for _, s := range e.secrets {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// lookup finds a secret by name, full ARN or partial ARN (the ARN without
// its suffix).
func (e *Emulator) lookup(id string) *secret {
	if !strings.HasPrefix(id, "arn:") {
		return e.byName(id)
	}
	if s, ok := e.secrets[id]; ok {
		return s
	}
	rest, ok := strings.CutPrefix(id, e.arnPrefix())
	if !ok || arnSuffixPattern.MatchString(rest) {
		return nil
	}
	return e.byName(rest)
}

// resolve returns the secret a SecretId names, after purging secrets whose
// recovery window has ended.
func (e *Emulator) resolve(id string) (*secret, error) {
	if err := checkSecretID(id); err != nil {
		return nil, err
	}
	e.purgeExpiredLocked()
	s := e.lookup(id)
	if s == nil {
		return nil, errSecretNotFound()
	}
	return s, nil
}

// resolveLive is resolve for operations a scheduled deletion forbids.
func (e *Emulator) resolveLive(id string) (*secret, error) {
	s, err := e.resolve(id)
	if err != nil {
		return nil, err
	}
	if s.deleted() {
		return nil, errMarkedForDeletion()
	}
	return s, nil
}

// purgeExpiredLocked removes secrets whose DeletionDate has passed.
func (e *Emulator) purgeExpiredLocked() bool {
	now := e.clock.Now()
	purged := false
	for arn, s := range e.secrets {
		if s.deleted() && !now.Before(*s.DeletionDate) {
			e.removeSecretLocked(arn)
			purged = true
		}
	}
	return purged
}

// removeSecretLocked forgets a secret and any rotation queued for it.
func (e *Emulator) removeSecretLocked(arn string) {
	delete(e.secrets, arn)
	e.dropJobLocked(arn)
}
