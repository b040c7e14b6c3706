"""A release consent withdrawn anywhere (the learner's consents page, the API) ends the release at once.

Access already ends through the policy's query (it reads the consent every time); this also
closes the release and cancels the organization's open clocks, so no obligation stays on a
work list for a conclusion the organization can no longer see.
"""

from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import timezone

from birge.core import audit
from birge.learners.models import Consent

from . import integration
from .models import Release


@receiver(post_save, sender=Consent, dispatch_uid="assessments-release-consent-withdrawn")
def release_consent_withdrawn(sender, instance: Consent, **kwargs):
    if instance.withdrawn_at is None or instance.purpose != Consent.Purpose.RELEASE_CONCLUSION:
        return
    for release in Release.objects.filter(consent=instance, revoked_at__isnull=True).select_related("conclusion"):
        release.revoked_at = instance.withdrawn_at or timezone.now()
        release.revoke_reason = instance.withdrawal_reason or str(integration.REASONS["consent-withdrawn"])
        release.save(update_fields=["revoked_at", "revoke_reason"])
        audit.record(None, "transition", release, event="release.consent_withdrawn", changes={"state": ["released", "revoked"]},
                     reason=release.revoke_reason, learner_id=release.conclusion.learner_id)
        integration.stop_release_clocks(None, release, reason="consent-withdrawn")
