// A short control-plane flow through a client generated from
// docs/openapi.json: openapi-typescript turns the document into the
// `paths` types (generated/keyplane.d.ts) and openapi-fetch sends typed
// requests from them, so a path, parameter or body the document gets wrong
// fails `tsc` or the run. Started by tests/tests/openapi_client.rs with
// KEYPLANE_URL (the control-plane origin) and KEYPLANE_TOKEN (a personal
// access token); prints what it created as one JSON line for the test to
// check through the API itself.
import createClient from "openapi-fetch";
import type { paths } from "./generated/keyplane.js";

const baseUrl = process.env.KEYPLANE_URL;
const token = process.env.KEYPLANE_TOKEN;
if (!baseUrl || !token) {
  throw new Error("KEYPLANE_URL and KEYPLANE_TOKEN must be set");
}

const keyplane = createClient<paths>({
  baseUrl,
  headers: { Authorization: `Bearer ${token}` },
});

// Fails with the server's own error JSON, so a failed step says why.
function expectData<T>(step: string, result: { data?: T; error?: unknown; response: Response }): T {
  if (result.data === undefined) {
    throw new Error(`${step}: ${result.response.status} ${JSON.stringify(result.error)}`);
  }
  return result.data;
}

const project = expectData(
  "createProject",
  await keyplane.POST("/projects", { body: { name: "Generated client" } }),
);
const project_id = project.id;

const invite = expectData(
  "createProjectInvite",
  await keyplane.POST("/projects/{project_id}/invites", {
    params: { path: { project_id } },
    body: { invitee_email: "colleague@example.com" },
  }),
);

const apiKey = expectData(
  "createProjectApiKey",
  await keyplane.POST("/projects/{project_id}/tokens", {
    params: { path: { project_id } },
    body: { name: "generated client key" },
  }),
);

const hostnames = expectData(
  "listProjectCustomHostnames",
  await keyplane.GET("/projects/{project_id}/hostnames", {
    params: { path: { project_id } },
  }),
);

console.log(
  JSON.stringify({
    project_id,
    slug: project.slug,
    state: project.state,
    invite_id: invite.id,
    invite_status: invite.status,
    invitee_email: invite.invitee_email,
    api_key_id: apiKey.id,
    api_key_value: apiKey.value,
    hostnames: hostnames.map((h) => h.hostname),
  }),
);
