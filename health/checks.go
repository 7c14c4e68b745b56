package health

import "fmt"

// NewChecks builds the checks of a config on which ApplyDefaults and
// Validate have been called.
func NewChecks(cfg Config) ([]Check, error) {
	checks := make([]Check, 0, len(cfg.Checks))
	for i, cc := range cfg.Checks {
		var probe Probe
		switch cc.Type {
		case CheckKinit:
			p, err := NewKinitProbe(KinitOptions{
				KDC: cc.KDC, Transport: cc.Transport, Principal: cc.Principal,
				Keytab: cc.Keytab, Service: cc.Service,
			})
			if err != nil {
				return nil, fmt.Errorf("health.checks[%d] (%s): %w", i, cc.Name, err)
			}
			probe = p
		case CheckScript:
			s, err := NewScriptCheck(cc.Script, 0)
			if err != nil {
				return nil, fmt.Errorf("health.checks[%d] (%s): %w", i, cc.Name, err)
			}
			probe = s
		default:
			return nil, fmt.Errorf("health.checks[%d] (%s): unknown type %q", i, cc.Name, cc.Type)
		}
		checks = append(checks, Check{
			Name: cc.Name, Probe: probe, Interval: cc.Interval, Timeout: cc.Timeout, Track: cc.TrackParams(),
		})
	}
	return checks, nil
}
