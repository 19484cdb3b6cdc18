# ruff: noqa: E501
"""Who may call the emergency-access endpoints: the coordinator opens and ends, the DPO
reviews, everyone else sees nothing (404). The SOP matrix test checks that the SOP API has
no endpoint outside its own matrix and this one."""

EMERGENCY_MATRIX = """
endpoint                                        partner police prison_expired partner_other hotline coordinator dpo admin outsider
POST  /emergency-access                         404     404    404            404           404     201         404 404   404
GET   /emergency-access                         404     404    404            404           404     200         404 404   404
POST  /emergency-access/{running}/end           404     404    404            404           404     200         403 404   404
GET   /emergency-access/reviews                 404     404    404            404           404     404         200 404   404
POST  /emergency-access/{ended}/review          404     404    404            404           404     404         200 404   404
"""
