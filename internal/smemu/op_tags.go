package smemu

import (
	"slices"
)

func (e *Emulator) tagResource(in tagResourceInput) (empty, error) {
	if err := checkTags(in.Tags); err != nil {
		return empty{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	s, err := e.resolveLive(in.SecretId)
	if err != nil {
		return empty{}, err
	}
	merged := mergeTags(s.Tags, in.Tags)
	if len(merged) > maxTagsPerSecret {
		return empty{}, errTooManyTags()
	}
	if merged == nil {
		merged = []tag{}
	}
	s.Tags = merged
	return empty{}, nil
}

func (e *Emulator) untagResource(in untagResourceInput) (empty, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s, err := e.resolveLive(in.SecretId)
	if err != nil {
		return empty{}, err
	}
	if s.Tags != nil {
		s.Tags = slices.DeleteFunc(s.Tags, func(t tag) bool { return slices.Contains(in.TagKeys, t.Key) })
	}
	return empty{}, nil
}

// mergeTags returns tags with add applied: an existing key takes the new
// value in place, a new key is appended. It returns nil when both are empty.
func mergeTags(tags, add []tag) []tag {
	out := slices.Clone(tags)
	for _, t := range add {
		i := slices.IndexFunc(out, func(o tag) bool { return o.Key == t.Key })
		if i >= 0 {
			out[i].Value = t.Value
			continue
		}
		out = append(out, t)
	}
	return out
}

func errTooManyTags() *apiError {
	return newAPIError(typeInvalidParameter, "You can't have more than %d tags on a secret.", maxTagsPerSecret)
}

func errTooManyStages() *apiError {
	return newAPIError(typeLimitExceeded, "You can't attach more than %d staging labels to a secret.", maxStagesPerSecret)
}
