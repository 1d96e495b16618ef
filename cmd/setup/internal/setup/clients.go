package setup

import (
	"context"

	admin "cloud.google.com/go/iam/admin/apiv1"
	redis "cloud.google.com/go/redis/apiv1"
	resourcemanager "cloud.google.com/go/resourcemanager/apiv3"
	cloudrun "cloud.google.com/go/run/apiv2"
	secretmanager "cloud.google.com/go/secretmanager/apiv1"
	serviceusage "cloud.google.com/go/serviceusage/apiv1"
	"google.golang.org/api/option"
)

// clients are the Google APIs the setup calls, built from the same
// options (in tests: one loopback endpoint, no authentication).
type clients struct {
	projects *resourcemanager.ProjectsClient
	usage    *serviceusage.Client
	iam      *admin.IamClient
	secrets  *secretmanager.Client
	redis    *redis.CloudRedisClient
	run      *cloudrun.ServicesClient
	closers  []interface{ Close() error }
}

func newClients(ctx context.Context, opts []option.ClientOption) (*clients, error) {
	var c clients
	var err error
	if c.projects, err = resourcemanager.NewProjectsClient(ctx, opts...); err != nil {
		return nil, err
	}
	c.closers = append(c.closers, c.projects)
	if c.usage, err = serviceusage.NewClient(ctx, opts...); err == nil {
		c.closers = append(c.closers, c.usage)
		c.iam, err = admin.NewIamClient(ctx, opts...)
	}
	if err == nil {
		c.closers = append(c.closers, c.iam)
		c.secrets, err = secretmanager.NewClient(ctx, opts...)
	}
	if err == nil {
		c.closers = append(c.closers, c.secrets)
		c.redis, err = redis.NewCloudRedisClient(ctx, opts...)
	}
	if err == nil {
		c.closers = append(c.closers, c.redis)
		c.run, err = cloudrun.NewServicesClient(ctx, opts...)
	}
	if err != nil {
		c.close()
		return nil, err
	}
	c.closers = append(c.closers, c.run)
	return &c, nil
}

func (c *clients) close() {
	for _, cl := range c.closers {
		_ = cl.Close()
	}
}
