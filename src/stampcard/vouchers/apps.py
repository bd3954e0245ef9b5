from django.apps import AppConfig


class VouchersConfig(AppConfig):
    name = "stampcard.vouchers"

    def ready(self) -> None:
        # The loyalty engine hands a Smart Voucher reward to this app; it imports nothing here.
        from stampcard.loyalty.models import RewardKind
        from stampcard.loyalty.rewards import register_reward_issuer
        from stampcard.vouchers.services import issue_goal_voucher

        register_reward_issuer(RewardKind.SMART_VOUCHER, issue_goal_voucher)
