"""Change one camera option the way a person does: through the options flow's settings form."""

from e2e.ha_rest import ApiError, HomeAssistantRest, Json

OPTIONS_FLOW = "/api/config/config_entries/options/flow"


async def set_option(
    rest: HomeAssistantRest, entry_id: str, section: str, key: str, value: object
) -> None:
    """Submit the settings form with the values it shows, changing only section/key."""
    form: Json = await rest.post(OPTIONS_FLOW, {"handler": entry_id})
    if form.get("type") == "menu":  # the options open on a menu: settings, or marking clips
        form = await rest.post(f"{OPTIONS_FLOW}/{form['flow_id']}", {"next_step_id": "settings"})
    user_input: Json = {
        field["name"]: {f["name"]: f.get("default") for f in field["schema"]}
        for field in form["data_schema"]
    }
    if key not in user_input.get(section, {}):
        msg = f"the options form has no {section}/{key} field: {list(user_input)}"
        raise ApiError(msg)
    user_input[section][key] = value
    result: Json = await rest.post(f"{OPTIONS_FLOW}/{form['flow_id']}", user_input)
    if result.get("type") != "create_entry":
        msg = f"saving the options failed: {result}"
        raise ApiError(msg)
