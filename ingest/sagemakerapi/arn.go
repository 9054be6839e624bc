package sagemakerapi

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
)

// The resource types of the ARNs provgraph mints, as SageMaker names them.
const (
	resExperiment     = "experiment"
	resTrial          = "experiment-trial"
	resTrialComponent = "experiment-trial-component"
	resArtifact       = "artifact"
	resContext        = "context"
	resAction         = "action"
)

// DefaultAccountID and DefaultRegion are the account and region of the ARNs provgraph
// mints when none are configured.
const (
	DefaultAccountID = "000000000000"
	DefaultRegion    = "us-east-1"
)

// arns mints and reads the ARNs of provgraph's nodes:
// arn:aws:sagemaker:<region>:<account>:<resource type>/<name>. SageMaker lower-cases
// names in ARNs; so does provgraph.
type arns struct {
	region, account string
}

var (
	accountIDForm = regexp.MustCompile(`^[0-9]{12}$`)
	regionForm    = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
)

// arn returns the ARN of the resource of type typ named name.
func (a arns) arn(typ, name string) string {
	return "arn:aws:sagemaker:" + a.region + ":" + a.account + ":" + typ + "/" + strings.ToLower(name)
}

// parse reads an ARN of this region and account: its resource type and name. ok is
// false for anything else.
func (a arns) parse(arn string) (typ, name string, ok bool) {
	rest, found := strings.CutPrefix(arn, "arn:aws:sagemaker:"+a.region+":"+a.account+":")
	if !found {
		return "", "", false
	}
	typ, name, found = strings.Cut(rest, "/")
	if !found || typ == "" || name == "" {
		return "", "", false
	}
	return typ, name, true
}

// stableID is the name of a resource AWS names itself (an artifact, whose ARN ends in
// a 32-digit hash): the same node always gets the same one.
func stableID(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:16])
}
