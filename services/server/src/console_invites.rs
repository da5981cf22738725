//! The console's invite page (`ui::invite`) reaches the control plane's
//! invite service through this adapter: the browser's console session is
//! authenticated exactly as the control-plane API authenticates its
//! cookie, and the invite is read and answered by the same service
//! methods as `POST /invites/{id}/accept`, so the page skips no check.

use async_trait::async_trait;
use controlplane::ControlPlane;
use controlplane::invite::InvitePreview;
use kernel::Result;
use ui::invite::{ConsoleInvites, InviteCard};
use uuid::Uuid;

pub struct ConsoleInviteDesk(pub ControlPlane);

fn card(preview: InvitePreview) -> InviteCard {
    InviteCard {
        project_name: preview.project_name,
        inviter_email: preview.invite.owner_email,
        invitee_email: preview.invite.invitee_email,
        status: preview.invite.status.as_str().to_owned(),
        expires_at: preview.invite.expires_at,
    }
}

#[async_trait]
impl ConsoleInvites for ConsoleInviteDesk {
    fn console_slug(&self) -> &str {
        self.0.console_slug()
    }

    async fn preview(&self, session: &str, id: Uuid, token: &str) -> Result<InviteCard> {
        let caller = self.0.accounts.authenticate_session(session).await?;
        Ok(card(self.0.invites.preview(caller, id, token).await?))
    }

    async fn answer(
        &self,
        session: &str,
        id: Uuid,
        token: &str,
        accept: bool,
    ) -> Result<InviteCard> {
        let caller = self.0.accounts.authenticate_session(session).await?;
        let answered = self.0.invites.answer(caller, id, token, accept).await?;
        // The answer has no project name; the link still identifies the
        // invitee, so the preview reads it (with the new status).
        let mut shown = self.0.invites.preview(caller, id, token).await?;
        shown.invite = answered;
        Ok(card(shown))
    }
}
